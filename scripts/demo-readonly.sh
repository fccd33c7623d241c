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
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

reexec_as_root "$0" "$@"
cd "$REPO_ROOT"

heading() { printf '\n=== %s ===\n' "$*"; }
[ -t 1 ] && heading() { printf '\n\033[1m=== %s ===\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }

# ---------------------------------------------------------------------------
heading "Setup: husk (release build) and the busybox rootfs"
have jq || apt_install_missing jq
if [ -n "${HUSK_BIN:-}" ]; then
    husk=$HUSK_BIN
else
    husk=$REPO_ROOT/target/release/husk
    if [ ! -x "$husk" ] || [ -n "$(find src build.rs Cargo.toml Cargo.lock -newer "$husk" 2>/dev/null | head -n 1)" ]; then
        have cargo || die "cargo is needed to build husk (https://rustup.rs), or set HUSK_BIN"
        cargo build --release
        chown_back_to_invoker target
    fi
fi
[ -x "$husk" ] || die "no husk binary at $husk"
scripts/mkrootfs.sh
bundle=$REPO_ROOT/bundles/demos/readonly
rootfs=$REPO_ROOT/bundles/busybox/rootfs
note "husk:   $husk"
note "bundle: $bundle (root.path ../../busybox/rootfs)"

state=""
id="demo-readonly-$$"
cleanup() {
    local rc=$?
    if [ -n "$state" ]; then
        "$husk" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
        rm -rf "$state"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
state=$(mktemp -d /tmp/husk-demo-readonly.XXXXXX)

# ---------------------------------------------------------------------------
heading "1. What the config asks for"
note "root: $(jq -c '.root' "$bundle/config.json")"
note "and one more mount: $(jq -c '.mounts[] | select(.destination == "/tmp")' "$bundle/config.json")"
note "After pivot_root, husk makes the container's / read-only"
note "(mount_setattr MOUNT_ATTR_RDONLY): for the container, not for the host."

# ---------------------------------------------------------------------------
heading "2. husk run: write to /, then to /tmp"
note "\$ husk run --bundle bundles/demos/readonly $id"
rc=0
"$husk" --root "$state" run --bundle "$bundle" "$id" </dev/null >"$state/out" 2>&1 || rc=$?
sed 's/^/    | /' "$state/out"
[ "$rc" = 0 ] || die "husk run failed ($rc)"
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
