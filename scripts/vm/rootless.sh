#!/bin/sh
# shellcheck shell=sh disable=SC2154 # CG, WORK, pass, fail: suite.sh's
# Rootless checks for the test VM, sourced by suite.sh (check "rootless").
#
# An unprivileged user (rl, uid 1000, added to /etc/passwd) is given a cgroup
# v2 subtree the way systemd's user@.service gets one: /user-1000 and its
# leaf /user-1000/session, both chowned to the user with their
# cgroup.procs, cgroup.threads and cgroup.subtree_control files. The user's
# shell runs in the leaf; husk, as that user, puts the container's cgroup
# beside it (/user-1000/<id>) and writes the limits there.
#   rootless-run                   the caller is root inside, with one mapping
#   rootless-delegated-cgroup      the container's cgroup is /user-1000/ID,
#                                  the user's, with memory.max written
#   rootless-memory-oom-exit-137   a process past memory.max is OOM-killed
#   rootless-delete                delete removes the cgroup and the state
#   rootless-undelegated-refused   from a cgroup that is not the user's,
#                                  limits fail create clearly, nothing left
#   rootless-undelegated-optional  ... and run without them on request

RL_UID=1000
RL_TOP=$CG/user-$RL_UID
RL_XDG=/tmp/xdg-$RL_UID

# as_user [CGROUP] COMMAND...: run COMMAND as uid 1000 in the cgroup
# CGROUP (relative to $CG; default the delegated leaf). Root moves the
# shell first: moving a process needs write access to the cgroup.procs of
# both cgroups' common ancestor, which the user lacks.
as_user() {
    _cg=user-$RL_UID/session
    case $1 in -cg=*)
        _cg=${1#-cg=}
        shift
        ;;
    esac
    # busybox's su (its setpriv cannot change ids); -p keeps the
    # environment, XDG_RUNTIME_DIR included.
    XDG_RUNTIME_DIR=$RL_XDG sh -c 'echo $$ >"$1/cgroup.procs" || exit 125; shift; exec su -p -s /bin/sh -c '"'"'exec "$0" "$@"'"'"' -- rl "$@"' \
        as_user "$CG/$_cg" "$@"
}

# rl_bundle ID RESOURCES ARG...: `husk spec --rootless` as the user, made
# to run ARG... with RESOURCES (null: none) on the shared rootfs.
rl_bundle() {
    _id=$1 _res=$2
    shift 2
    mkdir -p "$WORK/$_id"
    chown $RL_UID:$RL_UID "$WORK/$_id"
    as_user husk spec --rootless --bundle "$WORK/$_id" || return 1
    jq --argjson res "$_res" '
        .root.path = "/srv/rootfs"
        | .process.args = $ARGS.positional
        | (if $res == null then . else .linux.resources = $res end)' \
        "$WORK/$_id/config.json" --args -- "$@" >"$WORK/$_id/c.json" &&
        mv "$WORK/$_id/c.json" "$WORK/$_id/config.json"
    echo "$WORK/$_id"
}

rl_delegate() {
    grep -q "^rl:" /etc/passwd 2>/dev/null || {
        echo "rl:x:$RL_UID:$RL_UID:rootless test user:/tmp:/bin/sh" >>/etc/passwd
        echo "rl:x:$RL_UID:" >>/etc/group
    }
    mkdir -p "$RL_TOP/session" "$RL_XDG"
    for d in "$RL_TOP" "$RL_TOP/session"; do
        chown $RL_UID:$RL_UID "$d" "$d/cgroup.procs" "$d/cgroup.threads" "$d/cgroup.subtree_control"
    done
    chown $RL_UID:$RL_UID "$RL_XDG"
    # Debian kernels can switch unprivileged user namespaces off.
    [ -e /proc/sys/kernel/unprivileged_userns_clone ] &&
        echo 1 >/proc/sys/kernel/unprivileged_userns_clone
}

check_rootless() {
    rl_delegate
    mib=1048576

    b=$(rl_bundle rl-run null sh -c 'cat /proc/self/uid_map; id -u')
    out=$(as_user timeout 60 husk run --bundle "$b" rl-run 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ] && echo "$out" | grep -Eq "^ +0 +$RL_UID +1\$" && [ "$(echo "$out" | tail -n1)" = 0 ]; then
        pass rootless-run
    else
        fail rootless-run "exit $rc: $out"
    fi

    b=$(rl_bundle rl-mem "{\"memory\":{\"limit\":$((32 * mib))}}" sleep 60)
    # Into a file: the container keeps its stdout open, and $(...) would
    # wait for it to exit.
    as_user timeout 60 husk run --detach --bundle "$b" rl-mem >/tmp/rl-mem.out 2>&1
    rc=$?
    out=$(cat /tmp/rl-mem.out)
    d=$RL_TOP/rl-mem
    if [ "$rc" -ne 0 ]; then
        fail rootless-delegated-cgroup "run --detach exited $rc: $out"
    elif [ "$(val "$d/memory.max")" != $((32 * mib)) ] || [ "$(stat -c %u "$d")" != $RL_UID ]; then
        fail rootless-delegated-cgroup "$d: memory.max '$(val "$d/memory.max")', owner $(stat -c %u "$d" 2>&1)"
    elif ! grep -qx "$(jq -r .pid "$RL_XDG/husk/rl-mem/state.json")" "$d/cgroup.procs"; then
        _pid=$(jq -r .pid "$RL_XDG/husk/rl-mem/state.json")
        fail rootless-delegated-cgroup "the init ($_pid, $(as_user husk state rl-mem | jq -r .status)) is not in $d: $(cat "$d/cgroup.procs"); it is in $(cat "/proc/$_pid/cgroup" 2>&1)"
    else
        pass rootless-delegated-cgroup
    fi
    out=$(as_user timeout 60 husk delete --force rl-mem 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ] && [ ! -e "$d" ] && [ ! -e "$RL_XDG/husk/rl-mem" ]; then
        pass rootless-delete
    else
        fail rootless-delete "delete: $out; left: $(ls -d "$d" "$RL_XDG/husk/rl-mem" 2>/dev/null)"
    fi

    b=$(rl_bundle rl-oom "{\"memory\":{\"limit\":$((32 * mib))}}" tail /dev/zero)
    out=$(as_user timeout 60 husk run --bundle "$b" rl-oom 2>&1)
    rc=$?
    if [ "$rc" -eq 137 ] && [ ! -e "$RL_TOP/rl-oom" ]; then
        pass rootless-memory-oom-exit-137
    else
        fail rootless-memory-oom-exit-137 "exit $rc (want 137): $out; left: $(ls -d "$RL_TOP/rl-oom" 2>/dev/null)"
    fi

    # The same user, from a cgroup that is root's: nothing is delegated.
    mkdir -p "$CG/rl-root-owned"
    b=$(rl_bundle rl-undel "{\"pids\":{\"limit\":20}}" echo ran)
    out=$(as_user -cg=rl-root-owned timeout 60 husk run --bundle "$b" rl-undel 2>&1)
    rc=$?
    if [ "$rc" -ne 0 ] && echo "$out" | grep -q "no cgroup subtree is delegated" &&
        [ ! -e "$RL_XDG/husk/rl-undel" ]; then
        pass rootless-undelegated-refused
    else
        fail rootless-undelegated-refused "exit $rc: $out"
    fi
    out=$(as_user -cg=rl-root-owned timeout 60 husk run --cgroups-optional --bundle "$b" rl-undel 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^ran\$" && echo "$out" | grep -q "not applied"; then
        pass rootless-undelegated-optional
    else
        fail rootless-undelegated-optional "exit $rc: $out"
    fi
    rmdir "$CG/rl-root-owned" "$RL_TOP/session" "$RL_TOP" 2>/dev/null
}
