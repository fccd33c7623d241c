#!/bin/bash
# shellcheck disable=SC2016 # the containers' sh -c scripts expand in the container
# husk's systemd cgroup driver checks (`husk --systemd-cgroup`), run inside
# the systemd VM (scripts/systemd-vm.sh) as its payload: systemd is PID 1,
# the cgroups are pure v2, dbus runs, runc is Debian's. Launched by
# scripts/systemd-test.sh, which puts husk, this suite and a busybox rootfs
# in /payload.
#
# Each check runs real containers and looks from outside (systemctl show,
# the unit's cgroup files) and from inside (the container's own
# /sys/fs/cgroup). Where runc is the oracle, the same bundle runs under
# runc --systemd-cgroup and the two answers are compared.
#
# Prints "PASS name", "FAIL name: why" per check, timings as "TIME ...",
# and last "N passed, M failed". Exits 0 only when none failed.
#
#   HUSK_SDVM_CHECKS  only these checks (default: all)

set -u
export PATH=/payload/bin:$PATH
P=/payload
STATE=/run/husk-sd
RSTATE=/run/runc-sd
WORK=/var/tmp/sd
passed=0
failed=0

oneline() { printf '%s' "$*" | tr '\n' '|'; }
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $(oneline "$2")"; failed=$((failed + 1)); }

hk() { timeout 120 husk --root "$STATE" --systemd-cgroup "$@"; }
rc() { timeout 120 runc --root "$RSTATE" --systemd-cgroup "$@"; }

# prop UNIT NAME: one property as systemctl show prints it.
prop() { systemctl show "$1" -p "$2" --value 2>/dev/null; }

active() { [ "$(prop "$1" ActiveState)" = active ]; }

# gone UNIT: systemd no longer knows the unit.
gone() { [ "$(prop "$1" LoadState)" = "not-found" ]; }

wait_for() {
    local n=$(($1 * 10))
    shift
    while [ "$n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

# rund [ENV=V...] husk-or-runc ARGS...: a detached run whose output goes to
# a file, not a pipe: the container keeps its stdio, and a pipe would
# stay open until the container ends. Prints that output.
rund() {
    local f=$WORK/rund.out st
    "$@" >"$f" 2>&1 </dev/null
    st=$?
    cat "$f"
    return $st
}

status() { husk --root "$STATE" state "$1" 2>/dev/null | jq -r .status 2>/dev/null; }
stopped() { [ "$(status "$1")" = "stopped" ]; }

# bundle NAME CGROUPS_PATH RESOURCES_JSON ARG...: a bundle in $WORK/NAME.
# CGROUPS_PATH "-" leaves linux.cgroupsPath out.
bundle() {
    local name=$1 path=$2 res=$3
    shift 3
    mkdir -p "$WORK/$name"
    jq --arg path "$path" --argjson res "$res" '
        .root.path = "'"$WORK"'/rootfs"
        | .process.terminal = false
        | .process.args = $ARGS.positional
        | (if $path == "-" then del(.linux.cgroupsPath) else .linux.cgroupsPath = $path end)
        | (if $res == null then . else .linux.resources = $res end)' \
        "$WORK/base.json" --args -- "$@" >"$WORK/$name/config.json"
    echo "$WORK/$name"
}

# leftovers ID UNIT: what a container left: state dir, unit, cgroup.
leftovers() {
    local out=""
    [ -e "$STATE/$1" ] && out="$out state dir $STATE/$1;"
    gone "$2" || out="$out unit $2 is $(prop "$2" ActiveState);"
    local cg
    cg=$(find /sys/fs/cgroup -name "$2" 2>/dev/null)
    [ -n "$cg" ] && out="$out cgroup $cg;"
    echo "$out"
}

selected() {
    [ -z "${HUSK_SDVM_CHECKS:-}" ] && return 0
    case " $HUSK_SDVM_CHECKS " in *" $1 "*) return 0 ;; esac
    return 1
}

MIB=1048576
LIMITS='{"memory":{"limit":'$((64 * MIB))',"reservation":'$((32 * MIB))'},
         "pids":{"limit":32},
         "cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0"}}'

# ---------------------------------------------------------------------------
# Checks.

# The scope exists while the container runs, with the properties asked
# for, in the slice asked for; the limits are what the container sees.
check_scope() {
    local id=sd-scope unit=husk-test-sd-scope.scope b why=""
    b=$(bundle $id system.slice:husk-test:$id "$LIMITS" sleep 1000)
    if ! out=$(rund hk run -d --bundle "$b" $id); then
        fail scope "run: $out"
        return
    fi
    [ "$(prop $unit ActiveState)" = active ] || why="$why ActiveState=$(prop $unit ActiveState);"
    local want
    for want in Slice=system.slice Delegate=yes MemoryMax=$((64 * MIB)) \
        MemoryLow=$((32 * MIB)) TasksMax=32 CPUQuotaPerSecUSec=500ms CPUWeight=20 \
        AllowedCPUs=0 ControlGroup=/system.slice/$unit; do
        local got
        got=$(prop $unit "${want%%=*}")
        [ "$got" = "${want#*=}" ] || why="$why ${want%%=*}=$got (want ${want#*=});"
    done
    local inside
    inside=$(husk --root "$STATE" exec $id sh -c \
        'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpuset.cpus /proc/self/cgroup' 2>"$WORK/exec.err" | tr '\n' ' ')
    [ "$inside" = "$((64 * MIB)) 32 50000 100000 0 0::/ " ] || why="$why inside: $inside;"
    local pid
    pid=$(husk --root "$STATE" state $id | jq -r .pid)
    grep -qx "0::/system.slice/$unit" "/proc/$pid/cgroup" || why="$why init's cgroup: $(cat "/proc/$pid/cgroup");"
    husk --root "$STATE" ps $id | grep -qw "$pid" || why="$why ps lacks the init;"
    hk delete --force $id >/dev/null 2>&1
    local left
    left=$(leftovers $id $unit)
    [ -n "$left" ] && why="$why after delete:$left"
    if [ -z "$why" ]; then pass scope; else fail scope "$why"; fi
}

# The same bundle under runc: systemd's view of the two units must match.
check_runc_same_unit() {
    local why="" p
    b=$(bundle sd-cmp system.slice:husk-cmp:sd-cmp "$LIMITS" sleep 1000)
    hk run -d --bundle "$b" sd-cmp >/dev/null 2>&1 || why="husk run failed;"
    sed -i 's/husk-cmp/runc-cmp/' "$b/config.json"
    rc run -d --bundle "$b" sd-cmp >/dev/null 2>&1 || why="$why runc run failed;"
    for p in ActiveState Slice Delegate MemoryMax MemoryLow TasksMax CPUQuotaPerSecUSec \
        CPUWeight AllowedCPUs DefaultDependencies MemoryAccounting TasksAccounting; do
        local h r
        h=$(prop husk-cmp-sd-cmp.scope $p)
        r=$(prop runc-cmp-sd-cmp.scope $p)
        [ "$h" = "$r" ] || why="$why $p: husk $h, runc $r;"
    done
    local hin rin
    hin=$(husk --root "$STATE" exec sd-cmp cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.low /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight 2>"$WORK/exec.err" | tr '\n' ' ')
    rin=$(runc --root "$RSTATE" exec sd-cmp cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.low /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight 2>"$WORK/exec.err" | tr '\n' ' ')
    [ "$hin" = "$rin" ] || why="$why inside: husk '$hin', runc '$rin';"
    hk delete --force sd-cmp >/dev/null 2>&1
    rc delete --force sd-cmp >/dev/null 2>&1
    gone husk-cmp-sd-cmp.scope || why="$why husk's unit left;"
    if [ -z "$why" ]; then pass runc-same-unit; else fail runc-same-unit "$why"; fi
}

# No cgroupsPath: system.slice, prefix husk, the container's ID.
check_default_path() {
    local b out
    b=$(bundle sd-default - null sh -c 'cat /proc/1/cgroup')
    # stdout only: runc spec's ambient capabilities get a warning on stderr.
    out=$(hk run --bundle "$b" sd-default 2>"$WORK/run.err")
    # The unit is gone once its only process exits; so is the container.
    local st=$?
    if [ $st -eq 0 ] && [ "$out" = "0::/" ]; then
        pass default-path
    else
        fail default-path "exit $st: $out"
    fi
    hk delete --force sd-default >/dev/null 2>&1
    b=$(bundle sd-default2 - null sleep 1000)
    hk run -d --bundle "$b" sd-default2 >/dev/null 2>&1
    if [ "$(prop husk-sd-default2.scope Slice)" = system.slice ]; then
        pass default-unit-name
    else
        fail default-unit-name "husk-sd-default2.scope: $(systemctl status husk-sd-default2.scope 2>&1 | head -3)"
    fi
    hk delete --force sd-default2 >/dev/null 2>&1
}

# The OOM killer ends a container over its memory limit: 137, as runc.
check_oom() {
    local b h r
    b=$(bundle sd-oom system.slice:husk-test:sd-oom \
        '{"memory":{"limit":'$((32 * MIB))',"swap":'$((32 * MIB))'}}' tail /dev/zero)
    hk run --bundle "$b" sd-oom >/dev/null 2>&1
    h=$?
    hk delete --force sd-oom >/dev/null 2>&1
    sed -i 's/husk-test/runc-test/' "$b/config.json"
    rc run --bundle "$b" sd-oom >/dev/null 2>&1
    r=$?
    rc delete --force sd-oom >/dev/null 2>&1
    if [ $h -eq 137 ] && [ $h -eq $r ]; then
        pass oom
    else
        fail oom "husk exit $h, runc exit $r (want 137)"
    fi
    local left
    left=$(leftovers sd-oom husk-test-sd-oom.scope)
    if [ -z "$left" ]; then pass oom-leaves-nothing; else fail oom-leaves-nothing "$left"; fi
}

# pause and resume freeze the unit's cgroup.
check_pause() {
    local unit=husk-test-sd-pause.scope why="" b
    b=$(bundle sd-pause system.slice:husk-test:sd-pause null sleep 1000)
    hk run -d --bundle "$b" sd-pause >/dev/null 2>&1 || why="run failed;"
    hk pause sd-pause || why="$why pause failed;"
    [ "$(status sd-pause)" = paused ] || why="$why status $(status sd-pause) after pause;"
    [ "$(cat /sys/fs/cgroup/system.slice/$unit/cgroup.freeze)" = 1 ] || why="$why not frozen;"
    hk resume sd-pause || why="$why resume failed;"
    [ "$(status sd-pause)" = running ] || why="$why status $(status sd-pause) after resume;"
    hk delete --force sd-pause >/dev/null 2>&1
    if [ -z "$why" ]; then pass pause; else fail pause "$why"; fi
}

# update changes the unit's properties and the files, and a daemon-reload
# keeps them.
check_update() {
    local unit=husk-test-sd-update.scope why="" b cg=/sys/fs/cgroup/system.slice/husk-test-sd-update.scope
    b=$(bundle sd-update system.slice:husk-test:sd-update "$LIMITS" sleep 1000)
    hk run -d --bundle "$b" sd-update >/dev/null 2>&1 || why="run failed;"
    out=$(hk update --memory $((128 * MIB)) --pids-limit 50 --cpu-quota 20000 sd-update 2>&1) ||
        why="$why update: $out;"
    [ "$(prop $unit MemoryMax)" = $((128 * MIB)) ] || why="$why MemoryMax=$(prop $unit MemoryMax);"
    [ "$(prop $unit TasksMax)" = 50 ] || why="$why TasksMax=$(prop $unit TasksMax);"
    [ "$(prop $unit CPUQuotaPerSecUSec)" = 200ms ] || why="$why CPUQuotaPerSecUSec=$(prop $unit CPUQuotaPerSecUSec);"
    systemctl daemon-reload
    [ "$(cat $cg/memory.max)" = $((128 * MIB)) ] || why="$why memory.max $(cat $cg/memory.max) after daemon-reload;"
    [ "$(cat $cg/pids.max)" = 50 ] || why="$why pids.max $(cat $cg/pids.max) after daemon-reload;"
    [ "$(cat $cg/cpu.max)" = "20000 100000" ] || why="$why cpu.max $(cat $cg/cpu.max) after daemon-reload;"
    hk delete --force sd-update >/dev/null 2>&1
    if [ -z "$why" ]; then pass update; else fail update "$why"; fi
}

# kill --all reaches every process in the unit; delete removes the unit.
check_kill_all_and_delete() {
    local unit=husk-test-sd-kill.scope why="" b
    b=$(bundle sd-kill system.slice:husk-test:sd-kill null sh -c 'sleep 1000 & sleep 1000 & wait')
    hk create --bundle "$b" sd-kill >/dev/null 2>&1 || why="create failed;"
    [ "$(prop $unit ActiveState)" = active ] || why="$why unit $(prop $unit ActiveState) after create;"
    hk start sd-kill || why="$why start failed;"
    husk --root "$STATE" exec -d sd-kill sleep 1000 || why="$why exec -d failed;"
    sleep 0.5
    local n
    n=$(wc -l </sys/fs/cgroup/system.slice/$unit/cgroup.procs)
    [ "$n" -ge 4 ] || why="$why $n processes in the unit, want 4;"
    hk kill --all sd-kill KILL || why="$why kill --all failed;"
    wait_for 10 stopped sd-kill || why="$why not stopped after kill --all;"
    hk delete sd-kill || why="$why delete failed;"
    local left
    left=$(leftovers sd-kill $unit)
    [ -n "$left" ] && why="$why after delete:$left"
    if [ -z "$why" ]; then pass kill-all-delete; else fail kill-all-delete "$why"; fi
}

# expect_failure CHECK ID UNIT WORDS HUSK-ARGS...: create fails, says WORDS,
# and leaves nothing.
expect_failure() {
    local check=$1 id=$2 unit=$3 words=$4
    shift 4
    local out st
    out=$(rund "$@")
    st=$?
    local left
    left=$(leftovers "$id" "$unit")
    if [ $st -ne 0 ] && grep -qF -- "$words" <<<"$out" && [ -z "$left" ]; then
        pass "$check"
    else
        fail "$check" "exit $st, output: $out; left:$left (want '$words')"
    fi
}

check_bad_path() {
    local b
    b=$(bundle sd-bad system.slice:only-two null true)
    # (The log line quotes the message as Go does: \" for ".)
    expect_failure bad-path sd-bad x.scope \
        'expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \"system.slice:only-two\" instead' \
        hk run --bundle "$b" sd-bad
    local r
    r=$(rc run --bundle "$b" sd-bad 2>&1)
    if grep -qF 'expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \"system.slice:only-two\" instead' <<<"$r"; then
        pass bad-path-runc-words
    else
        fail bad-path-runc-words "runc said: $r"
    fi
    b=$(bundle sd-bad2 bad--name.slice:p:sd-bad2 null true)
    expect_failure bad-slice-name sd-bad2 p-sd-bad2.scope 'invalid slice name: bad--name.slice' \
        hk run --bundle "$b" sd-bad2
}

# A slice that does not exist: systemd makes it on the fly, for husk as for
# runc; it goes when its last unit does.
check_new_slice() {
    local why="" b slice=husktest-new.slice
    b=$(bundle sd-slice $slice:husk-test:sd-slice null sleep 1000)
    if ! out=$(rund hk run -d --bundle "$b" sd-slice); then
        why="husk run: $out;"
    fi
    local hs rs
    hs=$(prop husk-test-sd-slice.scope ControlGroup)
    hk delete --force sd-slice >/dev/null 2>&1
    sed -i 's/husk-test/runc-test/' "$b/config.json"
    rc run -d --bundle "$b" sd-slice >/dev/null 2>&1 || why="$why runc run failed;"
    rs=$(prop runc-test-sd-slice.scope ControlGroup)
    rc delete --force sd-slice >/dev/null 2>&1
    [ "$hs" = "/husktest.slice/husktest-new.slice/husk-test-sd-slice.scope" ] ||
        why="$why husk's unit at '$hs';"
    [ "${rs/runc-test/husk-test}" = "$hs" ] || why="$why runc's unit at '$rs';"
    local left
    left=$(leftovers sd-slice husk-test-sd-slice.scope)
    [ -n "$left" ] && why="$why after delete:$left"
    if [ -z "$why" ]; then pass new-slice; else fail new-slice "$why"; fi
}

# A unit name already in use: the second create fails with systemd's
# words, the first container runs on, and the second leaves nothing.
check_unit_exists() {
    local why="" b
    b=$(bundle sd-first system.slice:husk-test:taken null sleep 1000)
    hk run -d --bundle "$b" sd-first >/dev/null 2>&1 || why="first run failed;"
    mkdir -p "$WORK/sd-second" && cp "$b/config.json" "$WORK/sd-second/"
    local out st
    out=$(rund hk run -d --bundle "$WORK/sd-second" sd-second)
    st=$?
    [ $st -ne 0 ] || why="$why second run succeeded;"
    grep -qF 'unable to start unit \"husk-test-taken.scope\"' <<<"$out" || why="$why said: $out;"
    # systemd's own error name and text (252: "… was already loaded or has
    # a fragment file."; older: "… already exists.").
    grep -qF 'org.freedesktop.systemd1.UnitExists: Unit husk-test-taken.scope ' <<<"$out" || why="$why no systemd words: $out;"
    [ -e "$STATE/sd-second" ] && why="$why state dir of the second left;"
    [ "$(status sd-first)" = running ] || why="$why first is $(status sd-first);"
    [ "$(prop husk-test-taken.scope ActiveState)" = active ] || why="$why unit is $(prop husk-test-taken.scope ActiveState);"
    hk delete --force sd-first >/dev/null 2>&1
    if [ -z "$why" ]; then pass unit-exists; else fail unit-exists "$why"; fi
}

# systemd not reachable: a clear error, and nothing left.
check_unreachable() {
    local b
    b=$(bundle sd-nobus system.slice:husk-test:sd-nobus null sleep 1000)
    expect_failure unreachable sd-nobus husk-test-sd-nobus.scope 'failed to connect to dbus' \
        env DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/no-such-bus husk --root "$STATE" --systemd-cgroup run -d --bundle "$b" sd-nobus
}

# husk killed once systemd has made the unit: delete --force stops it.
check_killed_create() {
    local why="" b
    b=$(bundle sd-crash system.slice:husk-test:sd-crash null sleep 1000)
    HUSK_STOP_AT=write-state husk --root "$STATE" --systemd-cgroup create --bundle "$b" sd-crash >/dev/null 2>&1 &
    local pid=$!
    # write-state comes after the hand-over, where the unit was made.
    wait_for 20 active husk-test-sd-crash.scope || why="unit never active;"
    kill -KILL $pid 2>/dev/null
    wait $pid 2>/dev/null
    hk delete --force sd-crash >/dev/null 2>&1 || why="$why delete --force failed;"
    local left
    left=$(leftovers sd-crash husk-test-sd-crash.scope)
    [ -n "$left" ] && why="$why after delete --force:$left"
    if [ -z "$why" ]; then pass killed-create; else fail killed-create "$why"; fi
}

# Without --systemd-cgroup, a cgroup path below this service's own cgroup,
# which has processes (the suite's): cgroup v2's "no internal processes"
# rule. runc enables the threaded controllers there and makes the new
# cgroups threaded; limits that need a domain controller are refused. husk
# must do the same, in runc's words. Runs last: it leaves the service a
# thread root.
check_service_subtree() {
    local why="" me rt out st want
    me=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
    for rt in runc husk; do
        local root=$STATE
        [ $rt = runc ] && root=$RSTATE
        b=$(bundle sub-$rt "$me/sub-$rt/ctr" '{"pids":{"limit":100}}' \
            sh -c 'cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/cgroup.type')
        out=$(timeout 60 $rt --root "$root" run --bundle "$b" sub-$rt 2>&1 | grep -v 'ambient')
        [ "$(oneline "$out")" = "100|threaded" ] || why="$why $rt, pids only: $out;"
        b=$(bundle subm-$rt "$me/subm-$rt/ctr" '{"memory":{"limit":67108864}}' true)
        out=$(timeout 60 $rt --root "$root" run --bundle "$b" subm-$rt 2>&1)
        st=$?
        # (Their logs quote the path as \"...\".)
        out=${out//\\/}
        want="cannot enter cgroupv2 \"/sys/fs/cgroup$me\" with domain controllers -- it is in domain threaded mode"
        [ $st -ne 0 ] || why="$why $rt, memory: ran;"
        grep -qF -- "$want" <<<"$out" || why="$why $rt, memory said: $out;"
    done
    [ -e "$STATE/subm-husk" ] && why="$why husk left its state dir;"
    [ -e "/sys/fs/cgroup$me/subm-husk" ] && why="$why husk left /sys/fs/cgroup$me/subm-husk;"
    [ -e "/sys/fs/cgroup$me/sub-husk/ctr" ] && why="$why husk left /sys/fs/cgroup$me/sub-husk/ctr;"
    for rt in runc husk; do
        rmdir "/sys/fs/cgroup$me"/sub*-$rt/ctr "/sys/fs/cgroup$me"/sub*-$rt 2>/dev/null
    done
    if [ -z "$why" ]; then pass service-subtree; else fail service-subtree "$why"; fi
}

# run of true, ten times, with and without --systemd-cgroup.
time_runs() {
    local b s e i
    b=$(bundle sd-time system.slice:husk-time:sd-time null true)
    for mode in cgroupfs systemd; do
        local flag=""
        [ $mode = systemd ] && flag=--systemd-cgroup
        [ $mode = cgroupfs ] && jq '.linux.cgroupsPath = "/husk-time/sd-time"' "$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
        [ $mode = systemd ] && jq '.linux.cgroupsPath = "system.slice:husk-time:sd-time"' "$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
        s=$(date +%s%N)
        for i in 1 2 3 4 5 6 7 8 9 10; do
            husk --root "$STATE" $flag run --bundle "$b" sd-time-$i >/dev/null 2>&1
        done
        e=$(date +%s%N)
        echo "TIME run-true $mode: $(((e - s) / 10000000)) ms per run (10 runs, TCG)"
    done
    s=$(date +%s%N)
    for i in 1 2 3 4 5 6 7 8 9 10; do
        runc --root "$RSTATE" --systemd-cgroup run --bundle "$b" sd-time-$i >/dev/null 2>&1
    done
    e=$(date +%s%N)
    echo "TIME run-true runc-systemd: $(((e - s) / 10000000)) ms per run (10 runs, TCG)"
    rmdir /sys/fs/cgroup/husk-time 2>/dev/null
}

# ---------------------------------------------------------------------------

[ -s $P/checks ] && HUSK_SDVM_CHECKS=$(cat $P/checks)
echo "systemd $(systemctl --version | head -1 | cut -d' ' -f2), kernel $(uname -r), PID 1 $(ps -p 1 -o comm=), $(stat -fc %T /sys/fs/cgroup)"
rm -rf "$WORK" && mkdir -p "$WORK"
cp -a $P/rootfs "$WORK/rootfs" && echo "rootfs copied"
# The base config is the one runc writes (runc spec), not husk's own.
runc spec --bundle "$WORK" && mv "$WORK/config.json" "$WORK/base.json"
echo "boot: $(timeout 60 systemctl is-system-running --wait 2>&1)"

for c in scope runc_same_unit default_path oom pause update kill_all_and_delete \
    bad_path new_slice unit_exists unreachable killed_create service_subtree; do
    selected "${c//_/-}" || continue
    "check_$c"
done
selected time && time_runs

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
