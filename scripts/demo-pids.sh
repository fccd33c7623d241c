#!/usr/bin/env bash
# Demo: a process limit. The container may have at most 10 processes; a
# loop that tries to start 20 is stopped by the kernel with "can't fork",
# and the host sees the count in the container's pids cgroup. A fork bomb
# in a container is stopped the same way.
#
#   ./scripts/demo-pids.sh
#
# Uses bundles/demos/pids (its README.md explains the config). Needs root
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
bundle=$REPO_ROOT/bundles/demos/pids
note "husk:   $husk"
note "bundle: $bundle (root.path ../../busybox/rootfs)"

state=""
id="demo-pids-$$"
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
state=$(mktemp -d /tmp/husk-demo-pids.XXXXXX)
out=$state/container.out

# ---------------------------------------------------------------------------
heading "1. What the config asks for"
note "linux.resources.pids in $bundle/config.json: $(jq -c '.linux.resources.pids' "$bundle/config.json")"
note "husk writes 10 into the container's pids cgroup (pids.max) before its first"
note "process exists. The container's shell then runs this loop (in a subshell):"
jq -r '.process.args[2]' "$bundle/config.json" | sed -n '2p' | sed 's/^/      /'
note "(it reads pids.current with the shell's built-in 'read': 'cat' would be a"
note " process too, and there is no room for one at the end)"

# ---------------------------------------------------------------------------
heading "2. husk run --detach: the fork loop hits the limit"
note "\$ husk run --detach --bundle bundles/demos/pids $id   (its output goes to a file)"
"$husk" --root "$state" run --detach --bundle "$bundle" "$id" </dev/null >"$out" 2>&1 ||
    die "husk run failed: $(cat "$out")"
for _ in $(seq 1 100); do
    grep -q "staying alive" "$out" && break
    sleep 0.1
done
sed 's/^/    | /' "$out"
note "Each fork adds one process; when pids.current reaches pids.max (10: the"
note "shell, the subshell and 8 sleeps) fork() fails with EAGAIN, \"Resource"
note "temporarily unavailable\", and busybox's sh says \"can't fork\"."

# ---------------------------------------------------------------------------
heading "3. The host's view"
pid=$("$husk" --root "$state" state "$id" | jq -r .pid)
note "\$ husk inspect $id   (the cgroup part)"
"$husk" --root "$state" inspect "$id" | sed -n '/^  cgroup *\//,$p'
note "\$ husk ps $id   (the host's ps, filtered to the container's cgroup)"
"$husk" --root "$state" ps "$id" | sed 's/^/    /'
note "From the host these are ordinary processes (init: host PID $pid);"
note "the kernel counts them per cgroup and refuses the 11th."

# ---------------------------------------------------------------------------
heading "4. Clean up"
note "\$ husk delete --force $id"
"$husk" --root "$state" delete --force "$id"
note "the container, its 9 sleeping processes and its cgroups are gone."
say ""
say "Done: pids.max caps the number of processes in a container, whatever they try."
