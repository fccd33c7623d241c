#!/usr/bin/env bash
# Demo: a user namespace. Inside, the process is root (uid 0); on the host
# the very same process is uid 100000, an unprivileged id with no account.
# `husk inspect` and `ps` show it from the host.
#
#   ./scripts/demo-userns.sh
#
# Uses bundles/demos/userns (its README.md explains the config). Needs root
# (re-runs itself with sudo) and cargo, or HUSK_BIN=/path/to/husk.
set -eu
# shellcheck source=scripts/demo-lib.sh
. "$(dirname "$0")/demo-lib.sh"

demo_setup userns ps:procps
demo_tmp userns

# ---------------------------------------------------------------------------
heading "1. The bundle: a user namespace, and a rootfs the mapped root can reach"
note "uidMappings: $(jq -c '.linux.uidMappings' "$bundle/config.json")"
note "gidMappings: $(jq -c '.linux.gidMappings' "$bundle/config.json")"
note "uid 0 in the container is uid 100000 on the host (and 1 is 100001, ...)."
# The container's root is uid 100000 to the host's permission checks, so
# every directory down to the rootfs must be searchable by others. The repo
# may live under a private home directory: use a copy in a 0755 directory.
chmod 755 "$tmp" "$tmp/bundle"
cp -a "$REPO_ROOT/bundles/busybox/rootfs" "$tmp/bundle/rootfs"
jq '.root.path = "rootfs"' "$bundle/config.json" >"$tmp/bundle/config.json"
note "bundle: $tmp/bundle (config.json from bundles/demos/userns, a copy of the"
note "busybox rootfs: uid 100000 must be able to walk down to it, so 0755 dirs)"

# ---------------------------------------------------------------------------
heading "2. husk run --detach: the view from inside"
note "\$ husk run --detach --bundle $tmp/bundle $id"
run_detached "$id" "$tmp/bundle"
note "Inside it is root: uid 0, gid 0, with the capabilities the config gives."

# ---------------------------------------------------------------------------
heading "3. The view from the host"
pid=$(hk state "$id" | jq -r .pid)
note "\$ husk inspect $id"
hk inspect "$id"
note "\$ ps -o user,pid,comm -p $pid"
ps -o user,pid,comm -p "$pid" | sed 's/^/    /'
note "\$ grep -E '^(Uid|Gid):' /proc/$pid/status"
grep -E '^(Uid|Gid):' "/proc/$pid/status" | sed 's/^/    /'
note "The same process: root inside, 100000 outside (there is no such account,"
note "so ps prints the number). Its capabilities count only inside its own user"
note "namespace; to the host's files and processes it is an ordinary user. The"
note "'user' namespace line of inspect says 'own' this time."

# ---------------------------------------------------------------------------
heading "4. Clean up"
note "\$ husk delete --force $id"
hk delete --force "$id"

say ""
say "Done: with a user namespace, the container's root is nobody on the host."
