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
# shellcheck source=scripts/demo-lib.sh
. "$(dirname "$0")/demo-lib.sh"

demo_setup network ip:iproute2
demo_tmp network

# ---------------------------------------------------------------------------
heading "1. A server on the host"
port=$((20000 + $$ % 20000))
host_ip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -n 1)
# busybox nc (the rootfs's static busybox, run on the host): answers every
# connection with one line.
"$rootfs/bin/busybox" nc -ll -p "$port" -e /bin/echo "hello from the host" </dev/null >/dev/null 2>&1 &
kill_on_exit=$!
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
    '.root.path = $r | .process.env += [$t]' "$bundle/config.json" >"$tmp/bundle/config.json"
note "namespaces: $(jq -c '[.linux.namespaces[].type]' "$bundle/config.json")  (network: a new, empty one)"
note "env: HOST_ADDR=$targets"
run_it "$id" "$tmp/bundle"
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
