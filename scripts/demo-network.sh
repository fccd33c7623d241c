#!/usr/bin/env bash
# Demo: no network. A container in a new network namespace has only its own
# loopback interface (down), no route, and so no way to reach the internet,
# the host's address or even the host's 127.0.0.1 (its loopback is not the
# host's). A server on the host shows the difference: the host reaches it,
# the container cannot.
#
#   ./scripts/demo-network.sh
#
# Uses bundles/demos/network (its README.md explains the config). Needs
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
have ip || apt_install_missing iproute2
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
src=$REPO_ROOT/bundles/demos/network
rootfs=$REPO_ROOT/bundles/busybox/rootfs
note "husk:   $husk"

tmp=""
server=""
id="demo-network-$$"
cleanup() {
    local rc=$?
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    if [ -n "$tmp" ]; then
        "$husk" --root "$tmp/state" delete --force "$id" >/dev/null 2>&1 || true
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tmp=$(mktemp -d /tmp/husk-demo-network.XXXXXX)
mkdir "$tmp/state" "$tmp/bundle"

# ---------------------------------------------------------------------------
heading "1. A server on the host"
port=$((20000 + $$ % 20000))
host_ip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -n 1)
# busybox nc (the rootfs's static busybox, run on the host): answers every
# connection with one line.
"$rootfs/bin/busybox" nc -ll -p "$port" -e /bin/echo "hello from the host" </dev/null >/dev/null 2>&1 &
server=$!
sleep 0.3
targets="127.0.0.1:$port"
[ -n "$host_ip" ] && targets="$host_ip:$port $targets"
note "listening on port $port, every address (${host_ip:-no global IPv4}, 127.0.0.1)"
note "the host's interfaces (ip -br link):"
ip -br link | sed 's/^/      /'

# ---------------------------------------------------------------------------
heading "2. The container: bundles/demos/network, told where the server is"
# The demo's config, with an absolute root.path and HOST_ADDR (the targets
# the container's script tries besides 1.1.1.1:80).
jq --arg r "$rootfs" --arg t "HOST_ADDR=$targets" \
    '.root.path = $r | .process.env += [$t]' "$src/config.json" >"$tmp/bundle/config.json"
note "namespaces: $(jq -c '[.linux.namespaces[].type]' "$src/config.json")  (network: a new, empty one)"
note "env: HOST_ADDR=$targets"
note "\$ husk run --bundle $tmp/bundle $id"
rc=0
"$husk" --root "$tmp/state" run --bundle "$tmp/bundle" "$id" </dev/null >"$tmp/out" 2>&1 || rc=$?
sed 's/^/    | /' "$tmp/out"
[ "$rc" = 0 ] || die "husk run failed ($rc)"
note "The container has one interface, lo, and it is DOWN (no 'UP' in its flags)."
note "No interface, no route: every connect fails at once with ENETUNREACH,"
note "\"Network is unreachable\", the host's own addresses included."

# ---------------------------------------------------------------------------
heading "3. The same connections from the host"
for t in $targets; do
    note "\$ nc -w 2 ${t%:*} ${t#*:}"
    if reply=$("$rootfs/bin/busybox" nc -w 2 "${t%:*}" "${t#*:}" </dev/null 2>&1); then
        note "  -> $reply"
    else
        note "  -> failed: $reply"
    fi
done
note "Same machine, same kernel: the host reaches the server, the container"
note "does not. A runtime's caller (CNI, netavark, slirp4netns) would add an"
note "interface to the container's namespace to connect it; husk never does."

say ""
say "Done: a new network namespace is a separate network stack, empty until someone connects it."
