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
have ps || apt_install_missing procps
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
src=$REPO_ROOT/bundles/demos/userns
note "husk:   $husk"

tmp=""
id="demo-userns-$$"
cleanup() {
    local rc=$?
    if [ -n "$tmp" ]; then
        "$husk" --root "$tmp/state" delete --force "$id" >/dev/null 2>&1 || true
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tmp=$(mktemp -d /tmp/husk-demo-userns.XXXXXX)

# ---------------------------------------------------------------------------
heading "1. The bundle: a user namespace, and a rootfs the mapped root can reach"
note "uidMappings: $(jq -c '.linux.uidMappings' "$src/config.json")"
note "gidMappings: $(jq -c '.linux.gidMappings' "$src/config.json")"
note "uid 0 in the container is uid 100000 on the host (and 1 is 100001, ...)."
# The container's root is uid 100000 to the host's permission checks, so
# every directory down to the rootfs must be searchable by others. The repo
# may live under a private home directory: use a copy in a 0755 directory.
chmod 755 "$tmp"
mkdir "$tmp/state" "$tmp/bundle"
chmod 755 "$tmp/bundle"
cp -a "$REPO_ROOT/bundles/busybox/rootfs" "$tmp/bundle/rootfs"
jq '.root.path = "rootfs"' "$src/config.json" >"$tmp/bundle/config.json"
note "bundle: $tmp/bundle (config.json from bundles/demos/userns, a copy of the"
note "busybox rootfs: uid 100000 must be able to walk down to it, so 0755 dirs)"

# ---------------------------------------------------------------------------
heading "2. husk run --detach: the view from inside"
note "\$ husk run --detach --bundle $tmp/bundle $id"
"$husk" --root "$tmp/state" run --detach --bundle "$tmp/bundle" "$id" </dev/null >"$tmp/out" 2>&1 ||
    die "husk run failed: $(cat "$tmp/out")"
for _ in $(seq 1 100); do
    grep -q "staying alive" "$tmp/out" && break
    sleep 0.1
done
sed 's/^/    | /' "$tmp/out"
note "Inside it is root: uid 0, gid 0, with the capabilities the config gives."

# ---------------------------------------------------------------------------
heading "3. The view from the host"
pid=$("$husk" --root "$tmp/state" state "$id" | jq -r .pid)
note "\$ husk inspect $id"
"$husk" --root "$tmp/state" inspect "$id"
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
"$husk" --root "$tmp/state" delete --force "$id"

say ""
say "Done: with a user namespace, the container's root is nobody on the host."
