#!/usr/bin/env bash
# Demo: a memory limit. The container gets 32 MiB and no swap, its program
# keeps allocating, and the kernel's OOM killer stops it: `husk run` exits
# with 137 (128 + SIGKILL). The lesson: the limit is the kernel's (a cgroup),
# not something the program or husk checks.
#
#   ./scripts/demo-memory.sh
#
# Uses bundles/demos/memory (its README.md explains the config). Needs root
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
bundle=$REPO_ROOT/bundles/demos/memory
note "husk:   $husk"
note "bundle: $bundle (root.path ../../busybox/rootfs)"

state=""
id="demo-memory-$$"
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
state=$(mktemp -d /tmp/husk-demo-memory.XXXXXX)

# ---------------------------------------------------------------------------
heading "1. What the config asks for"
note "linux.resources.memory in $bundle/config.json:"
jq -c '.linux.resources.memory' "$bundle/config.json" | sed 's/^/    /'
note "limit 33554432 = 32 MiB. OCI's \"swap\" is memory PLUS swap, so equal"
note "values mean: no swap. husk writes both into a new memory cgroup before"
note "the container's process exists. Its program (sh -c):"
jq -r '.process.args[2]' "$bundle/config.json" | sed 's/^/      /'
note "(/dev/zero has no newline: tail keeps its one endless 'line' in memory)"

# ---------------------------------------------------------------------------
heading "2. husk run: the container allocates until the kernel kills it"
note "\$ husk run --keep --bundle bundles/demos/memory $id"
rc=0
"$husk" --root "$state" run --keep --bundle "$bundle" "$id" </dev/null >"$state/out" 2>&1 || rc=$?
sed 's/^/    | /' "$state/out"
note "husk run exited with $rc"
if [ "$rc" = 137 ]; then
    note "137 = 128 + 9: the process died of SIGKILL, sent by the kernel's OOM killer."
else
    note "(expected 137; the memory limit did not stop it)"
fi

# ---------------------------------------------------------------------------
heading "3. The host's view: the container's memory cgroup"
# husk puts a container without cgroupsPath in <husk's own cgroup>/<id>;
# husk is our child, so its cgroup is ours.
own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
if [ -n "$own" ] && [ -d /sys/fs/cgroup/memory ]; then
    cg=/sys/fs/cgroup/memory${own%/}/$id
    note "cgroup v1: $cg"
    files="memory.limit_in_bytes memory.memsw.limit_in_bytes memory.max_usage_in_bytes memory.oom_control"
else
    own=$(sed -n 's/^0:://p' /proc/self/cgroup)
    cg=/sys/fs/cgroup${own%/}/$id
    note "cgroup v2: $cg"
    files="memory.max memory.swap.max memory.peak memory.events"
fi
for f in $files; do
    if [ -r "$cg/$f" ]; then
        # One line per value; oom_control and events have several.
        sed "s|^|    $f: |" "$cg/$f"
    fi
done
note "oom_kill 1: the kernel killed one process in this cgroup, and only there;"
note "nothing outside the container was touched."
kmsg=$(dmesg 2>/dev/null | grep -E "Memory cgroup out of memory|oom-kill" | tail -n 2 || true)
if [ -n "$kmsg" ]; then
    note "the kernel's log (dmesg):"
    printf '%s\n' "$kmsg" | sed 's/^/    /'
fi

# ---------------------------------------------------------------------------
heading "4. Clean up"
note "\$ husk delete $id   (removes the state and the cgroup)"
"$husk" --root "$state" delete "$id"
if [ -d "$cg" ]; then
    note "(cgroup $cg is still there!)"
else
    note "the cgroup is gone."
fi
say ""
say "Done: a memory limit is a cgroup, and the OOM killer enforces it on the container alone."
