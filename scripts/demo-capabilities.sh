#!/usr/bin/env bash
# Demo: capabilities. The container's process is root (uid 0) but holds only
# three of root's ~41 capabilities, so chown, bringing up an interface and a
# raw socket (ping) fail. The same bundle with CAP_CHOWN, CAP_NET_ADMIN and
# CAP_NET_RAW added can do all three.
#
#   ./scripts/demo-capabilities.sh
#
# Uses bundles/demos/capabilities (its README.md explains the config).
# Needs root (re-runs itself with sudo) and cargo, or HUSK_BIN=/path/to/husk.
set -eu
# shellcheck source=scripts/demo-lib.sh
. "$(dirname "$0")/demo-lib.sh"

demo_setup capabilities
note "bundle: $bundle (root.path ../../busybox/rootfs)"
demo_tmp caps more

# ---------------------------------------------------------------------------
heading "1. Root, with three capabilities"
note "process.user: $(jq -c '.process.user' "$bundle/config.json")   (root)"
note "process.capabilities.effective: $(jq -c '.process.capabilities.effective' "$bundle/config.json")"
note "husk drops every other capability from the bounding set, then sets the"
note "effective and permitted sets with capset(2)."
run_it "$id" "$bundle"
note "CapEff 0000000020000420 = bits 5, 10, 29: CAP_KILL, CAP_NET_BIND_SERVICE,"
note "CAP_AUDIT_WRITE. uid 0 alone is not enough: the kernel checks the"
note "capability each operation needs, and each one above is refused."

# ---------------------------------------------------------------------------
heading "2. The same container with CAP_CHOWN, CAP_NET_ADMIN and CAP_NET_RAW"
jq --arg r "$rootfs" '.root.path = $r
    | .process.capabilities |= with_entries(
        if (.key == "bounding" or .key == "effective" or .key == "permitted")
        then .value += ["CAP_CHOWN", "CAP_NET_ADMIN", "CAP_NET_RAW"] else . end)' \
    "$bundle/config.json" >"$tmp/bundle/config.json"
note "process.capabilities.effective: $(jq -c '.process.capabilities.effective' "$tmp/bundle/config.json")"
run_it "$id-more" "$tmp/bundle"
note "CapEff 0000000020003421 adds bits 0 (CAP_CHOWN), 12 (CAP_NET_ADMIN) and"
note "13 (CAP_NET_RAW): chown works, lo comes up, and ping gets its raw socket."
note "Still only 6 of root's capabilities: no CAP_SYS_ADMIN, no CAP_SYS_MODULE."

say ""
say "Done: in a container, root is only as powerful as the capabilities it was given."
