#!/usr/bin/env bash
# Demo: a read-only root filesystem. The container cannot write to / (not
# even as root), but can write to a tmpfs mounted at /tmp, which lives in
# memory and vanishes with the container.
#
#   ./scripts/demo-readonly.sh
#
# Uses bundles/demos/readonly (its README.md explains the config). Needs
# root (re-runs itself with sudo) and cargo, or HUSK_BIN=/path/to/husk.
set -eu
# shellcheck source=scripts/demo-lib.sh
. "$(dirname "$0")/demo-lib.sh"

demo_setup readonly
note "bundle: $bundle (root.path ../../busybox/rootfs)"
demo_tmp readonly

# ---------------------------------------------------------------------------
heading "1. What the config asks for"
note "root: $(jq -c '.root' "$bundle/config.json")"
note "and one more mount: $(jq -c '.mounts[] | select(.destination == "/tmp")' "$bundle/config.json")"
note "After pivot_root, husk makes the container's / read-only"
note "(mount_setattr MOUNT_ATTR_RDONLY): for the container, not for the host."

# ---------------------------------------------------------------------------
heading "2. husk run: write to /, then to /tmp"
run_it "$id" "$bundle" bundles/demos/readonly
note "touch /x fails with EROFS (\"Read-only file system\"), although the process"
note "is root: no permission check is even reached. /tmp is a separate tmpfs"
note "mount, writable, and /proc/self/mounts shows both: '/ ... ro' and '/tmp ... rw'."

# ---------------------------------------------------------------------------
heading "3. The host's view"
if [ -e "$rootfs/x" ] || [ -e "$rootfs/tmp/x" ]; then
    note "(unexpected: the container's files are in $rootfs)"
else
    note "neither $rootfs/x nor $rootfs/tmp/x exists: the shared rootfs"
    note "on disk was not changed, and the tmpfs went away with the container's"
    note "mount namespace."
fi
note "The host itself can still write there: read-only is a property of the"
note "container's mount, not of the directory."

say ""
say "Done: root.readonly makes the container's / unwritable; give it tmpfs mounts for scratch space."
