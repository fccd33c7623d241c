#!/usr/bin/env bash
# Demo: seccomp. A deny-list profile makes the kernel answer mkdir(2) with
# EPERM for the container, root or not, while every other system call works.
# Without the profile the same mkdir succeeds.
#
#   ./scripts/demo-seccomp.sh
#
# Uses bundles/demos/seccomp (its README.md explains the config). Needs
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
bundle=$REPO_ROOT/bundles/demos/seccomp
rootfs=$REPO_ROOT/bundles/busybox/rootfs
note "husk:   $husk"
note "bundle: $bundle (root.path ../../busybox/rootfs)"

tmp=""
id="demo-seccomp-$$"
cleanup() {
    local rc=$?
    if [ -n "$tmp" ]; then
        "$husk" --root "$tmp/state" delete --force "$id" >/dev/null 2>&1 || true
        "$husk" --root "$tmp/state" delete --force "$id-off" >/dev/null 2>&1 || true
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tmp=$(mktemp -d /tmp/husk-demo-seccomp.XXXXXX)
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
heading "1. The profile: allow everything except mkdir"
jq '.linux.seccomp' "$bundle/config.json" | sed 's/^/    /'
note "husk compiles this with libseccomp into a BPF program and loads it as the"
note "last step before exec (noNewPrivileges is set). From then on the kernel"
note "runs the filter on every system call the container makes."

# ---------------------------------------------------------------------------
heading "2. With the profile"
run_it "$id" "$bundle"
note "Seccomp: 2 means \"filter mode\". touch (openat) is allowed; mkdir never"
note "reaches the filesystem: the filter returns errnoRet 1 = EPERM, \"Operation"
note "not permitted\", although the process is root and /tmp is a writable tmpfs."

# ---------------------------------------------------------------------------
heading "3. The same container without linux.seccomp"
jq --arg r "$rootfs" '.root.path = $r | del(.linux.seccomp)' \
    "$bundle/config.json" >"$tmp/bundle/config.json"
run_it "$id-off" "$tmp/bundle"
note "Seccomp: 0 (no filter) and mkdir works: the profile alone made the difference."

say ""
say "Done: seccomp narrows the kernel's system call interface, call by call."
