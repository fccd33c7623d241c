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
# shellcheck source=scripts/demo-lib.sh
. "$(dirname "$0")/demo-lib.sh"

demo_setup memory
note "bundle: $bundle (root.path ../../busybox/rootfs)"
demo_tmp memory

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
show_run "$id" "$bundle" --keep
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
hk delete "$id"
if [ -d "$cg" ]; then
    note "(cgroup $cg is still there!)"
else
    note "the cgroup is gone."
fi
say ""
say "Done: a memory limit is a cgroup, and the OOM killer enforces it on the container alone."
