#!/bin/sh
# What runs in every compat container (tests/compat.rs copies it to
# /.husk-probe.sh in the rootfs copy and runs `/bin/sh /.husk-probe.sh
# [SYSCTL...]`). It prints `key: value` lines about what the process sees,
# raw; the harness normalises run-specific parts (namespace inodes, mount
# peer groups, temp paths, cgroup paths) before comparing husk with runc.
#
# Robust by design: it is a busybox sh script that must work as any uid, on
# a read-only root, without /proc or /sys, under a strict seccomp profile.
# A file that cannot be read prints `key: <missing>`; a command that fails
# prints what it printed, never aborts the script. Exit status: always 0.
#
# Arguments: the sysctl keys the config sets (net.ipv4.ip_forward), whose
# /proc/sys values are printed.

# file KEY PATH: each line of PATH as `KEY: line`, or `KEY: <missing>`.
file() {
    if [ -r "$2" ] && [ -f "$2" ]; then
        # A last line without a newline still counts.
        while IFS= read -r line || [ -n "$line" ]; do
            printf '%s: %s\n' "$1" "$line"
        done <"$2"
    else
        printf '%s: <missing>\n' "$1"
    fi
}

# Selected fields of /proc/self/status (a function: `set --` changes its
# own arguments, not the script's).
status() {
    if [ ! -r /proc/self/status ]; then
        echo "status: <missing>"
        return
    fi
    while IFS= read -r line; do
        k=${line%%:*}
        v=${line#*:}
        case $k in
        CapInh | CapPrm | CapEff | CapBnd | CapAmb | NoNewPrivs | Seccomp | Uid | Gid | Groups)
            # Tabs and runs of spaces as one space, no trailing space.
            # shellcheck disable=SC2086 # word splitting is the point
            set -- $v
            printf 'status.%s: %s\n' "$k" "$*"
            ;;
        esac
    done </proc/self/status
}
status

echo "umask: $(umask)"
echo "id: $(id 2>&1)"

for n in cgroup ipc mnt net pid pid_for_children time time_for_children user uts; do
    # No 2>/dev/null anywhere: without a /dev mount it would create a file.
    t="<missing>"
    [ -L "/proc/self/ns/$n" ] && t=$(readlink "/proc/self/ns/$n")
    echo "ns.$n: $t"
done

file mountinfo /proc/self/mountinfo
file cgroup /proc/self/cgroup

# Limits as the container's own /sys/fs/cgroup shows them.
# v1: one directory per hierarchy (a co-mounted cpu,cpuacct has symlinks).
for f in memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes \
    memory/memory.soft_limit_in_bytes memory/memory.swappiness \
    memory/memory.kmem.limit_in_bytes memory/memory.kmem.tcp.limit_in_bytes \
    pids/pids.max cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us \
    cpuset/cpuset.cpus cpuset/cpuset.mems blkio/blkio.weight devices/devices.list; do
    file "cg.$f" "/sys/fs/cgroup/$f"
done
# v2: only when a cgroup2 is mounted at /sys/fs/cgroup itself.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    for f in cgroup.controllers memory.max memory.swap.max memory.low memory.high \
        pids.max cpu.max cpu.weight cpuset.cpus cpuset.mems io.weight; do
        file "cg2.$f" "/sys/fs/cgroup/$f"
    done
fi

file limits /proc/self/limits
echo "hostname: $(uname -n 2>&1)"
file domainname /proc/sys/kernel/domainname
echo "pwd: $(pwd 2>&1)"
env | sort | while IFS= read -r line; do echo "env: $line"; done
file oom_score_adj /proc/self/oom_score_adj

for s in "$@"; do
    file "sysctl.$s" "/proc/sys/$(echo "$s" | tr . /)"
done

# /dev, one level deep, and the level below in real directories (pts, shm,
# mqueue; not /dev/fd, a symlink to this process's fds).
dev() {
    if [ -L "$1" ]; then
        echo "dev: $1 -> $(readlink "$1")"
    elif [ -e "$1" ]; then
        echo "dev: $(stat -c '%n %F %t:%T %a %u:%g' "$1" 2>&1)"
    fi
}
for f in /dev/*; do
    dev "$f"
    if [ -d "$f" ] && [ ! -L "$f" ]; then
        for g in "$f"/*; do dev "$g"; done
    fi
done
exit 0
