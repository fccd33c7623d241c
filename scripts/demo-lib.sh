# shellcheck shell=bash
# The shared part of the scripts/demo-*.sh scripts. Source it; do not run it:
#
#   set -eu
#   . "$(dirname "$0")/demo-lib.sh"
#   demo_setup NAME [CMD:PACKAGE...]
#   demo_tmp SHORT [ID-SUFFIX...]
#
# Sourcing it (with no arguments, so that it sees the script's own) sources
# lib.sh, re-runs the script as root, changes to REPO_ROOT and defines
# heading and note. demo_setup prints the "Setup" section and sets husk,
# bundle and rootfs; demo_tmp makes the temporary directory (tmp, with the
# state root in state) and removes it, and the containers, on exit.
# show_run, run_it and run_detached run a container and show its output;
# hk runs husk with the demo's state root.

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

reexec_as_root "$0" "$@"
cd "$REPO_ROOT" || exit

heading() { printf '\n=== %s ===\n' "$*"; }
[ -t 1 ] && heading() { printf '\n\033[1m=== %s ===\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }

# demo_setup NAME [CMD:PACKAGE...]
# The "Setup" section: jq (and PACKAGE where CMD is missing), husk (HUSK_BIN,
# or target/release/husk, rebuilt when the sources are newer) and the busybox
# rootfs. Sets husk, bundle (bundles/demos/NAME) and rootfs.
demo_setup() {
    local name=$1
    shift
    heading "Setup: husk (release build) and the busybox rootfs"
    have jq || apt_install_missing jq
    local need
    for need in "$@"; do
        have "${need%%:*}" || apt_install_missing "${need#*:}"
    done
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
    # shellcheck disable=SC2034 # used by the scripts that source this file
    bundle=$REPO_ROOT/bundles/demos/$name
    # shellcheck disable=SC2034
    rootfs=$REPO_ROOT/bundles/busybox/rootfs
    note "husk:   $husk"
}

# demo_tmp SHORT [ID-SUFFIX...]
# Sets id (demo-SHORT-<pid>) and makes tmp (/tmp/husk-demo-SHORT.XXXXXX)
# with two empty directories: state (husk's state root, also in $state) and
# bundle. On exit: kills the processes in kill_on_exit, force-deletes the
# containers id and id-SUFFIX for each SUFFIX, and removes tmp.
tmp=""
kill_on_exit=""
demo_ids=()
demo_tmp() {
    local short=$1
    shift
    id="demo-$short-$$"
    demo_ids=("$id")
    local suffix
    for suffix in "$@"; do
        demo_ids+=("$id-$suffix")
    done
    trap demo_cleanup EXIT
    trap 'exit 130' INT TERM
    tmp=$(mktemp -d "/tmp/husk-demo-$short.XXXXXX")
    mkdir "$tmp/state" "$tmp/bundle"
    state=$tmp/state
}
demo_cleanup() {
    local rc=$?
    local pid one
    for pid in $kill_on_exit; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$tmp" ]; then
        for one in "${demo_ids[@]}"; do
            "$husk" --root "$state" delete --force "$one" >/dev/null 2>&1 || true
        done
        rm -rf "$tmp"
    fi
    exit "$rc"
}

# hk ARGS...: husk with the demo's state root.
hk() { "$husk" --root "$state" "$@"; }

# show_run ID BUNDLE [RUN-OPTION...]: husk run, the container's lines marked
# with "|". Sets rc to husk's exit status.
show_run() {
    rc=0
    hk run "${@:3}" --bundle "$2" "$1" </dev/null >"$tmp/out" 2>&1 || rc=$?
    sed 's/^/    | /' "$tmp/out"
}

# run_it ID BUNDLE [SHOWN]: show_run, which must succeed, after a note with
# the command (naming the bundle SHOWN, BUNDLE by default).
run_it() {
    note "\$ husk run --bundle ${3:-$2} $1"
    show_run "$1" "$2"
    [ "$rc" = 0 ] || die "husk run failed ($rc)"
}

# run_detached ID BUNDLE: husk run --detach, then the container's lines
# (marked with "|") once it says "staying alive" (or after 10 seconds).
run_detached() {
    hk run --detach --bundle "$2" "$1" </dev/null >"$tmp/out" 2>&1 ||
        die "husk run failed: $(cat "$tmp/out")"
    for _ in $(seq 1 100); do
        grep -q "staying alive" "$tmp/out" && break
        sleep 0.1
    done
    sed 's/^/    | /' "$tmp/out"
}
