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
bundle=$REPO_ROOT/bundles/demos/capabilities
rootfs=$REPO_ROOT/bundles/busybox/rootfs
note "husk:   $husk"
note "bundle: $bundle (root.path ../../busybox/rootfs)"

tmp=""
id="demo-caps-$$"
cleanup() {
    local rc=$?
    if [ -n "$tmp" ]; then
        "$husk" --root "$tmp/state" delete --force "$id" >/dev/null 2>&1 || true
        "$husk" --root "$tmp/state" delete --force "$id-more" >/dev/null 2>&1 || true
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tmp=$(mktemp -d /tmp/husk-demo-caps.XXXXXX)
mkdir "$tmp/state" "$tmp/bundle"

# run_it ID BUNDLE: husk run, the container's lines marked with "|".
run_it() {
    local rc=0
    note "\$ husk run --bundle $2 $1"
    "$husk" --root "$tmp/state" run --bundle "$2" "$1" </dev/null >"$tmp/out" 2>&1 || rc=$?
    sed 's/^/    | /' "$tmp/out"
    [ "$rc" = 0 ] || die "husk run failed ($rc)"
}

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
