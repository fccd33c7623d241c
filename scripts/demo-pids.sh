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
# shellcheck source=scripts/demo-lib.sh
. "$(dirname "$0")/demo-lib.sh"

demo_setup pids ps:procps
note "bundle: $bundle (root.path ../../busybox/rootfs)"
demo_tmp pids

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
run_detached "$id" "$bundle"
note "Each fork adds one process; when pids.current reaches pids.max (10: the"
note "shell, the subshell and 8 sleeps) fork() fails with EAGAIN, \"Resource"
note "temporarily unavailable\", and busybox's sh says \"can't fork\"."

# ---------------------------------------------------------------------------
heading "3. The host's view"
pid=$(hk state "$id" | jq -r .pid)
note "\$ husk inspect $id   (the cgroup part)"
hk inspect "$id" | sed -n '/^  cgroup *\//,$p'
note "\$ husk ps $id   (the host's ps, filtered to the container's cgroup)"
hk ps "$id" | sed 's/^/    /'
note "From the host these are ordinary processes (init: host PID $pid);"
note "the kernel counts them per cgroup and refuses the 11th."

# ---------------------------------------------------------------------------
heading "4. Clean up"
note "\$ husk delete --force $id"
hk delete --force "$id"
note "the container, its 9 sleeping processes and its cgroups are gone."
say ""
say "Done: pids.max caps the number of processes in a container, whatever they try."
