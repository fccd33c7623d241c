#!/usr/bin/env bash
# End-to-end test: containerd 1.6 drives husk through the runc v2 shim.
#
#   scripts/e2e/containerd.sh
#
# Starts a private containerd (its own config, root, state and socket in a
# temp dir; it never talks to a system containerd), imports a busybox image
# built here without a registry (scripts/e2e/containerd/mkimage.sh), and
# runs the same scenarios with `ctr run --runtime io.containerd.runc.v2
# --runc-binary RUNTIME` for each runtime, plain runc first for comparison:
#
#   run-echo        ctr run --rm IMG ID echo hi            -> "hi", status 0
#   run-exit-code   ctr run --rm IMG ID sh -c 'exit 3'     -> status 3
#   run-detached    ctr run -d IMG ID sleep 60             -> task RUNNING
#   exec            ctr task exec --exec-id e1 ID sh -c 'echo in-exec; exit 4'
#   exec-detached   ctr task exec -d --exec-id e2 ID sleep 30
#   ps              ctr task ps ID: the init and e2
#   pause / resume  ctr task pause|resume: PAUSED|RUNNING, freezer state
#   metrics         ctr task metrics ID: memory, cpu and pids numbers
#   kill            ctr task kill -s SIGKILL ID -> STOPPED, exit status 137
#   delete          ctr task delete ID; ctr container delete ID
#   shared-parent   two containers under one parent cgroup (containerd's
#                   default /<ns>/<id> layout): deleting the one that made
#                   the parent works at once and leaves the other alone
#   oom-exit-137    ctr run --memory-limit 32MiB --rm IMG ID sh -c 'exec tail /dev/zero'
#   oom-event       ctr events shows /tasks/oom for that container
#   no-leftovers    no task, container, runtime state, cgroup or mount left
#
# The containers' cgroups go under this process's own cgroup (an absolute
# linux.cgroupsPath, as containerd passes, but <own>/husk-e2e-<pid>/...
# instead of /<namespace>/<id>); the runtime state under the temp dir
# (--runc-root), and so do the IO fifos (--fifo-dir).
#
# Prints "PASS <runtime>: <name>" or "FAIL <runtime>: <name>: <details>"
# for each, then "N passed, M failed"; exits 1 if anything failed. Cleans up
# everything it made (tasks, containers, snapshots, image, the containerd
# process, leftover shims, mounts, cgroups, the temp dir) on any exit.
#
# Settings (environment):
#   HUSK_BIN=PATH              husk binary to test (default: cargo build --release)
#   HUSK_E2E_RUNTIMES="runc husk"  which runtimes, in order
#   HUSK_E2E_SNAPSHOTTER=NAME  overlayfs or native (default: overlayfs if an
#                              overlay mount works in the temp dir, else native)
#   HUSK_E2E_WRAP=0            call the runtime directly, not through the
#                              wrapper that logs every call and exit code
#   HUSK_E2E_KEEP=1            keep the temp dir (logs) after the run
#   HUSK_E2E_TIMEOUT=60        seconds allowed for one ctr command
#
# Needs root, containerd + runc (Debian packages, installed if missing) and
# busybox-static (scripts/mkrootfs.sh).
set -u
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"
reexec_as_root "$0" "$@"

started=$(date +%s.%N)
RUNTIMES=${HUSK_E2E_RUNTIMES:-runc husk}
TMO=${HUSK_E2E_TIMEOUT:-60}
NS=husk-e2e
IMG=husk.test/busybox:latest

apt_install_missing containerd runc
for t in containerd ctr containerd-shim-runc-v2 runc timeout; do
    have "$t" || die "$t not found"
done

# --- husk -----------------------------------------------------------------

if [ -n "${HUSK_BIN:-}" ]; then
    HUSK=$HUSK_BIN
else
    case " $RUNTIMES " in
        *" husk "*)
            have cargo || die "cargo not found (set HUSK_BIN to a built husk)"
            (cd "$REPO_ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
            ;;
    esac
    HUSK=$REPO_ROOT/target/release/husk
fi
case $HUSK in /*) ;; *) HUSK=$(pwd)/$HUSK ;; esac

"$REPO_ROOT/scripts/mkrootfs.sh" >/dev/null || die "scripts/mkrootfs.sh failed"
ROOTFS=$REPO_ROOT/bundles/busybox/rootfs

# --- temp dir, cleanup ----------------------------------------------------

T=$(mktemp -d "${TMPDIR:-/tmp}/husk-ctrd.XXXXXX") || die "mktemp failed"
chmod 0711 "$T"
SOCK=$T/containerd.sock
CTRD_PID=
EVENTS_PID=
CHILD=
# The shims put their sockets in /run/containerd/s whatever the config says:
# remove that directory again (when empty) if it was not there before.
RUN_CTRD_NEW=
[ -e /run/containerd ] || RUN_CTRD_NEW=1
# Every ctr call goes through this: the private socket and namespace, and a
# time limit so a hung runtime cannot hang the run.
ctrc() { timeout -k 5 "$TMO" ctr -a "$SOCK" -n "$NS" "$@"; }

# The cgroups: containerd would pass "/<namespace>/<id>", from the root of
# every hierarchy. Here the containers go under this process's own cgroup
# instead (its memory cgroup on a v1/hybrid host, where a supervisor may
# have put us), still as an absolute linux.cgroupsPath:
#   <own>/husk-e2e-<pid>/<runtime>/<id>
own_cgroup() {
    local line
    line=$(grep -E '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' /proc/self/cgroup | head -n1)
    [ -n "$line" ] || line=$(grep '^0::' /proc/self/cgroup | head -n1)
    line=${line#*:}
    line=${line#*:}
    [ "$line" = / ] && line=
    printf '%s' "$line"
}
CGBASE=$(own_cgroup)/husk-e2e-$$
# The mounted hierarchies (v1 controllers, name=systemd, unified).
# (mountinfo: the filesystem type follows the "-" after the optional fields)
mapfile -t CG_MOUNTS < <(awk '{
    for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) ~ /^cgroup2?$/) print $5; break }
}' /proc/self/mountinfo | sort -u)
# The ancestors of CGBASE that do not exist yet in each hierarchy: the
# runtimes create them, and the cleanup removes them again (deepest first).
CG_CREATED=()
for m in "${CG_MOUNTS[@]}"; do
    p=
    IFS=/ read -ra parts <<<"${CGBASE#/}"
    for part in "${parts[@]}"; do
        p=$p/$part
        [ -d "$m$p" ] || CG_CREATED+=("$m$p")
    done
done

# leftover_cgroups: directories below CGBASE that still exist.
leftover_cgroups() {
    local m
    for m in "${CG_MOUNTS[@]}"; do
        [ -d "$m$CGBASE" ] && find "$m$CGBASE" -mindepth 1 -type d 2>/dev/null
    done
}

# A process started (indirectly) by this run: a shim of our containerd.
ours() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$SOCK"; }

cleanup() {
    local rc=$? id pid f d i
    trap - EXIT INT TERM
    [ -n "$EVENTS_PID" ] && kill "$EVENTS_PID" 2>/dev/null
    [ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null
    if [ -n "$CTRD_PID" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
        # Kill every task first: a delete can wait on a sibling's cgroup.
        TMO=20
        for id in $(ctrc task ls -q 2>/dev/null); do
            ctrc task kill -a -s SIGKILL "$id" >/dev/null 2>&1
        done
        for id in $(ctrc task ls -q 2>/dev/null); do
            ctrc task delete --force "$id" >/dev/null 2>&1
        done
        for id in $(ctrc containers ls -q 2>/dev/null); do
            ctrc containers delete "$id" >/dev/null 2>&1
        done
        ctrc images rm --sync "$IMG" >/dev/null 2>&1
    fi
    # Shims that outlived their task: ours by pid file and command line.
    for f in "$T"/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        ours "$pid" && kill -KILL "$pid" 2>/dev/null
    done
    if [ -n "$CTRD_PID" ]; then
        kill -TERM "$CTRD_PID" 2>/dev/null
        for i in $(seq 50); do kill -0 "$CTRD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$CTRD_PID" 2>/dev/null
        wait "$CTRD_PID" 2>/dev/null
    fi
    # Container processes left in our cgroups, then the cgroups themselves.
    for d in $(leftover_cgroups | sort -r); do
        if [ -f "$d/cgroup.procs" ]; then
            while read -r pid; do kill -KILL "$pid" 2>/dev/null; done <"$d/cgroup.procs"
        fi
        [ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
    done
    sleep 0.2
    for d in $(leftover_cgroups | sort -r); do rmdir "$d" 2>/dev/null; done
    for ((i = ${#CG_CREATED[@]} - 1; i >= 0; i--)); do
        rmdir "${CG_CREATED[i]}" 2>/dev/null
    done
    # Mounts (container rootfs) under the temp dir, deepest first.
    awk -v t="$T" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo |
        sort -r | while read -r d; do umount -l "$d" 2>/dev/null; done
    [ -n "$RUN_CTRD_NEW" ] && rmdir /run/containerd/s /run/containerd 2>/dev/null
    if [ "${HUSK_E2E_KEEP:-0}" = 1 ]; then
        say "kept $T"
    else
        rm -rf "$T"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- snapshotter ----------------------------------------------------------

if [ -n "${HUSK_E2E_SNAPSHOTTER:-}" ]; then
    SNAP=$HUSK_E2E_SNAPSHOTTER
else
    mkdir -p "$T/ovl/l" "$T/ovl/u" "$T/ovl/w" "$T/ovl/m"
    if mount -t overlay overlay -o "lowerdir=$T/ovl/l,upperdir=$T/ovl/u,workdir=$T/ovl/w" "$T/ovl/m" 2>/dev/null; then
        umount "$T/ovl/m"
        SNAP=overlayfs
    else
        SNAP=native
    fi
    rm -rf "$T/ovl"
fi
export CONTAINERD_SNAPSHOTTER=$SNAP

# --- containerd -----------------------------------------------------------

mkdir -p "$T/root" "$T/state" "$T/opt" "$T/fifo"
cat >"$T/config.toml" <<EOF
version = 2
root = "$T/root"
state = "$T/state"
oom_score = 0
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$SOCK.ttrpc"

[debug]
  level = "debug"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$T/opt"
EOF
containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 &
CTRD_PID=$!
for _ in $(seq 100); do
    ctr -a "$SOCK" version >/dev/null 2>&1 && break
    kill -0 "$CTRD_PID" 2>/dev/null || break
    sleep 0.1
done
if ! ctr -a "$SOCK" version >/dev/null 2>&1; then
    tail -n 20 "$T/containerd.log" >&2
    die "containerd did not start"
fi

"$REPO_ROOT/scripts/e2e/containerd/mkimage.sh" "$ROOTFS" "$T/image.tar" || die "mkimage.sh failed"
ctrc images import --base-name "${IMG%:*}" "$T/image.tar" >"$T/import.log" 2>&1 ||
    { cat "$T/import.log" >&2; die "ctr images import failed"; }
rm -f "$T/image.tar"

say "containerd $(containerd --version | awk '{print $3}'), runc v2 shim, snapshotter $SNAP, cgroups under $CGBASE"
say "runtimes: $RUNTIMES (husk: $HUSK)"

# --- runtimes -------------------------------------------------------------

# The binary the shim runs for runtime $1: the real one, or a wrapper that
# logs each call with its exit code to $T/calls-$1.log and, on a failure,
# the lines of the --log file the shim gave it (the file goes away with
# the bundle).
runtime_binary() {
    local name=$1 real
    case $name in
        husk) real=$HUSK ;;
        runc) real=$(command -v runc) ;;
        *) real=$(command -v "$name") || die "runtime $name not found" ;;
    esac
    [ -x "$real" ] || die "runtime $name: $real is not executable"
    if [ "${HUSK_E2E_WRAP:-1}" = 0 ]; then
        printf '%s' "$real"
        return
    fi
    local w=$T/bin/$name
    mkdir -p "$T/bin"
    cat >"$w" <<EOF
#!/bin/sh
log=$T/calls-$name.log
echo "\$(date +%T.%N) -> \$*" >>"\$log"
"$real" "\$@"
rc=\$?
echo "\$(date +%T.%N) <- rc=\$rc: \$*" >>"\$log"
if [ \$rc -ne 0 ]; then
    prev=
    for a in "\$@"; do
        [ "\$prev" = --log ] && [ -f "\$a" ] && sed 's/^/     log: /' "\$a" >>"\$log"
        prev=\$a
    done
fi
exit \$rc
EOF
    chmod 0755 "$w"
    printf '%s' "$w"
}

# --- checks ---------------------------------------------------------------

PASSED=0
FAILED=0
RESULTS=()
RT=
pass() {
    PASSED=$((PASSED + 1))
    RESULTS+=("$RT $1 PASS")
    say "PASS $RT: $1"
}
# fail NAME DETAILS [ID]: DETAILS on the FAIL line; with ID, the runtime
# calls for that container and the shim's errors follow, indented.
fail() {
    FAILED=$((FAILED + 1))
    RESULTS+=("$RT $1 FAIL")
    say "FAIL $RT: $1: $2"
    [ -n "${3:-}" ] && context "$3"
}
context() {
    local id=$1 log=$T/calls-$RT.log
    if [ -f "$log" ]; then
        say "    last runtime calls for $id (global flags --root/--log/--log-format left out):"
        awk -v id="$id" '/^ +log:/ { if (keep) print; next }
            { keep = ($NF == id); if (keep) print }' "$log" | tail -n 10 | cut -c1-400 |
            sed -E 's/--root [^ ]+ --log [^ ]+ --log-format [^ ]+ //; s/^/      /'
    fi
    say "    containerd/shim warnings and errors for $id:"
    grep -F -- "$id" "$T/containerd.log" | grep -E 'level=(error|warning)' | tail -n 5 |
        cut -c1-600 | sed 's/^/      /'
}

# cap CMD...: run CMD with stdin from /dev/null; sets OUT, ERR, RC. In the
# background, so that INT/TERM interrupt the wait and start the cleanup.
cap() {
    "$@" </dev/null >"$T/out" 2>"$T/err" &
    CHILD=$!
    wait "$CHILD"
    RC=$?
    CHILD=
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}
oneline() { printf '%s' "$*" | tr '\n' ' ' | cut -c1-400; }

# task_field ID COLUMN: the PID (2) or STATUS (3) of task ID in `ctr task ls`.
task_field() { ctrc task ls 2>/dev/null | awk -v id="$1" -v c="$2" '$1 == id { print $c }'; }
# wait_status ID STATUS: up to 10 s.
wait_status() {
    local i
    for i in $(seq 100); do
        [ "$(task_field "$1" 3)" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
# freezer_state ID: the v1 freezer state, or cgroup.freeze on v2 ("1" = frozen).
freezer_state() {
    local m
    for m in "${CG_MOUNTS[@]}"; do
        if [ -f "$m$CGBASE/$RT/$1/freezer.state" ]; then
            cat "$m$CGBASE/$RT/$1/freezer.state"
            return
        fi
    done
    for m in "${CG_MOUNTS[@]}"; do
        [ -f "$m$CGBASE/$RT/$1/cgroup.freeze" ] && { cat "$m$CGBASE/$RT/$1/cgroup.freeze"; return; }
    done
    echo "(no freezer file)"
}

scenarios() {
    local bin id pid st rr e
    bin=$(runtime_binary "$RT")
    rr=$T/runtime-root-$RT
    # ctr run options shared by every container of this runtime.
    RUN=(--runtime io.containerd.runc.v2 --runc-binary "$bin" --runc-root "$rr" --fifo-dir "$T/fifo")

    # run-echo
    id=$RT-echo
    cap ctrc run --rm "${RUN[@]}" --cgroup "$CGBASE/$RT/$id" "$IMG" "$id" echo hi
    if [ "$RC" = 0 ] && [ "$OUT" = hi ]; then pass run-echo
    else fail run-echo "status $RC, stdout '$(oneline "$OUT")', stderr '$(oneline "$ERR")' (want 0, 'hi')" "$id"; fi

    # run-exit-code
    id=$RT-exit
    cap ctrc run --rm "${RUN[@]}" --cgroup "$CGBASE/$RT/$id" "$IMG" "$id" sh -c 'exit 3'
    if [ "$RC" = 3 ]; then pass run-exit-code
    else fail run-exit-code "status $RC (want 3), stderr '$(oneline "$ERR")'" "$id"; fi

    # run-detached, and everything done to that running task
    id=$RT-detached
    cap ctrc run -d "${RUN[@]}" --cgroup "$CGBASE/$RT/$id" "$IMG" "$id" sleep 60
    st=$(task_field "$id" 3)
    pid=$(task_field "$id" 2)
    if [ "$RC" = 0 ] && [ "$st" = RUNNING ]; then
        pass run-detached
    else
        fail run-detached "ctr run -d status $RC, stderr '$(oneline "$ERR")', task status '$st' (want RUNNING)" "$id"
    fi

    if [ "$st" != RUNNING ]; then
        for e in exec exec-detached ps pause resume metrics kill delete; do
            fail "$e" "not run: $id is not running"
        done
    else
        cap ctrc task exec --fifo-dir "$T/fifo" --exec-id e1 "$id" sh -c 'echo in-exec; exit 4'
        if [ "$RC" = 4 ] && [ "$OUT" = in-exec ]; then pass exec
        else fail exec "status $RC, stdout '$(oneline "$OUT")', stderr '$(oneline "$ERR")' (want 4, 'in-exec')" "$id"; fi

        cap ctrc task exec -d --fifo-dir "$T/fifo" --exec-id e2 "$id" sleep 30
        if [ "$RC" = 0 ]; then pass exec-detached
        else fail exec-detached "status $RC, stderr '$(oneline "$ERR")'" "$id"; fi

        cap ctrc task ps "$id"
        if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | grep -qE "^${pid}[[:space:]]" &&
            printf '%s\n' "$OUT" | grep -q 'ExecID:e2'; then
            pass ps
        else
            fail ps "status $RC, output '$(oneline "$OUT")', stderr '$(oneline "$ERR")' (want the init $pid and exec e2)" "$id"
        fi

        cap ctrc task pause "$id"
        st=$(task_field "$id" 3)
        e=$(freezer_state "$id")
        if [ "$RC" = 0 ] && [ "$st" = PAUSED ] && { [ "$e" = FROZEN ] || [ "$e" = 1 ]; }; then pass pause
        else fail pause "status $RC, stderr '$(oneline "$ERR")', task status '$st' (want PAUSED), freezer '$e'" "$id"; fi

        cap ctrc task resume "$id"
        st=$(task_field "$id" 3)
        e=$(freezer_state "$id")
        if [ "$RC" = 0 ] && [ "$st" = RUNNING ] && { [ "$e" = THAWED ] || [ "$e" = 0 ]; }; then pass resume
        else fail resume "status $RC, stderr '$(oneline "$ERR")', task status '$st' (want RUNNING), freezer '$e'" "$id"; fi

        # v1 names first, then v2's.
        cap ctrc task metrics "$id"
        local mem cpu pids
        mem=$(printf '%s\n' "$OUT" | awk '$1 == "memory.usage_in_bytes" || $1 == "memory.usage" { print $2; exit }')
        cpu=$(printf '%s\n' "$OUT" | awk '$1 == "cpuacct.usage" || $1 == "cpu.usage_usec" { print $2; exit }')
        pids=$(printf '%s\n' "$OUT" | awk '$1 == "pids.current" { print $2; exit }')
        if [ "$RC" = 0 ] && [ "${mem:-0}" -gt 0 ] 2>/dev/null && [ "${cpu:-0}" -gt 0 ] 2>/dev/null &&
            [ "${pids:-0}" -ge 1 ] 2>/dev/null; then
            pass metrics
        else
            fail metrics "status $RC, memory '$mem' cpu '$cpu' pids '$pids', output '$(oneline "$OUT")', stderr '$(oneline "$ERR")'" "$id"
        fi

        cap ctrc task kill -s SIGKILL "$id"
        if [ "$RC" = 0 ] && wait_status "$id" STOPPED; then pass kill
        else fail kill "status $RC, stderr '$(oneline "$ERR")', task status '$(task_field "$id" 3)' (want STOPPED)" "$id"; fi

        # ctr 1.6 `task delete` warns "task ID exit with non-zero exit code N".
        cap ctrc task delete "$id"
        local rc1=$RC err1=$ERR
        cap ctrc containers delete "$id"
        if [ "$rc1" = 0 ] && printf '%s' "$err1" | grep -q 'exit code 137' && [ "$RC" = 0 ]; then
            pass delete
        else
            fail delete "task delete status $rc1 stderr '$(oneline "$err1")' (want status 0, exit code 137); container delete status $RC stderr '$(oneline "$ERR")'" "$id"
        fi
    fi

    # shared-parent: containerd's default cgroupsPath is /<namespace>/<id>,
    # so the containers of a namespace share a parent that the first one
    # made. Deleting that first container while a sibling runs must work,
    # quickly, and leave the sibling's cgroup alone.
    local a=$RT-sib1 b=$RT-sib2 t0 dt x
    cap ctrc run -d "${RUN[@]}" --cgroup "$CGBASE/$RT/shared/$a" "$IMG" "$a" sleep 600
    local rca=$RC erra=$ERR
    cap ctrc run -d "${RUN[@]}" --cgroup "$CGBASE/$RT/shared/$b" "$IMG" "$b" sleep 600
    if [ "$rca" != 0 ] || [ "$RC" != 0 ]; then
        fail shared-parent "ctr run -d: $a status $rca '$(oneline "$erra")', $b status $RC '$(oneline "$ERR")'" "$a"
    else
        local pidb
        pidb=$(task_field "$b" 2)
        ctrc task kill -s SIGKILL "$a" >/dev/null 2>&1
        wait_status "$a" STOPPED
        t0=$(date +%s%N)
        cap ctrc task delete "$a"
        dt=$((($(date +%s%N) - t0) / 1000000))
        local rcd=$RC errd=$ERR stb sibcg=ok m
        stb=$(task_field "$b" 3)
        kill -0 "$pidb" 2>/dev/null || stb="$stb, pid $pidb gone"
        for m in "${CG_MOUNTS[@]}"; do
            [ -d "$m$CGBASE/$RT/shared/$b" ] || sibcg="missing $m$CGBASE/$RT/shared/$b"
        done
        if [ "$rcd" = 0 ] && [ "$dt" -lt 3000 ] && [ "$stb" = RUNNING ] && [ "$sibcg" = ok ]; then
            pass shared-parent
        else
            fail shared-parent "ctr task delete $a (sibling $b running): status $rcd in ${dt} ms (want 0, < 3000 ms), stderr '$(oneline "$errd")'; $b: task '$stb', cgroup $sibcg" "$a"
        fi
    fi
    # The sibling first: then the parent is empty, whatever a's delete did.
    for x in "$b" "$a"; do
        ctrc task kill -s SIGKILL "$x" >/dev/null 2>&1
        wait_status "$x" STOPPED
        ctrc task delete "$x" >/dev/null 2>&1
        ctrc containers delete "$x" >/dev/null 2>&1
    done

    # OOM: the memory limit kills tail, ctr's status is 128+9.
    id=$RT-oom
    ctrc events >"$T/events-$RT.log" 2>&1 &
    EVENTS_PID=$!
    sleep 0.3
    cap ctrc run --rm "${RUN[@]}" --cgroup "$CGBASE/$RT/$id" --memory-limit 33554432 "$IMG" "$id" sh -c 'exec tail /dev/zero'
    if [ "$RC" = 137 ]; then pass oom-exit-137
    else fail oom-exit-137 "status $RC (want 137), stderr '$(oneline "$ERR")'" "$id"; fi
    sleep 0.5
    kill "$EVENTS_PID" 2>/dev/null
    wait "$EVENTS_PID" 2>/dev/null
    EVENTS_PID=
    if grep -F '/tasks/oom' "$T/events-$RT.log" | grep -qF "\"container_id\":\"$id\""; then
        pass oom-event
    else
        fail oom-event "no /tasks/oom event for $id; events: '$(grep -F "\"$id\"" "$T/events-$RT.log" | awk '{print $6}' | tr '\n' ' ')'" "$id"
    fi

    # no-leftovers: tasks, containers, runtime state, cgroups, mounts.
    local left=() x
    sleep 0.2
    for x in $(ctrc task ls -q 2>/dev/null); do case $x in "$RT"-*) left+=("task $x") ;; esac; done
    for x in $(ctrc containers ls -q 2>/dev/null); do case $x in "$RT"-*) left+=("container $x") ;; esac; done
    for x in "$rr/$NS"/*; do [ -e "$x" ] && left+=("state $x"); done
    for m in "${CG_MOUNTS[@]}"; do
        # A container's own cgroup (named after its ID); runc leaves the
        # parents it made (shared/), so they do not count.
        [ -d "$m$CGBASE/$RT" ] || continue
        while read -r x; do
            left+=("cgroup $x")
        done < <(find "$m$CGBASE/$RT" -mindepth 1 -type d -name "$RT-*")
    done
    while read -r x; do
        case $x in */"$RT"-*) left+=("mount $x") ;; esac
    done < <(awk -v t="$T/state/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo)
    if [ "${#left[@]}" = 0 ]; then pass no-leftovers
    else fail no-leftovers "$(oneline "${left[*]}")"; fi
}

for RT in $RUNTIMES; do
    scenarios
done

# --- summary --------------------------------------------------------------

if [ "$(echo "$RUNTIMES" | wc -w)" -gt 1 ]; then
    say ""
    say "comparison:"
    printf '  %-16s' scenario
    for r in $RUNTIMES; do printf ' %-6s' "$r"; done
    printf '\n'
    for r0 in $RUNTIMES; do break; done
    for row in "${RESULTS[@]}"; do
        read -r rrt name _ <<<"$row"
        [ "$rrt" = "$r0" ] || continue
        printf '  %-16s' "$name"
        for r in $RUNTIMES; do
            res=$(printf '%s\n' "${RESULTS[@]}" | awk -v r="$r" -v n="$name" '$1 == r && $2 == n { print $3 }')
            printf ' %-6s' "${res:--}"
        done
        printf '\n'
    done
fi
if [ "$FAILED" -gt 0 ] && [ "${HUSK_E2E_WRAP:-1}" != 0 ]; then
    for r in $RUNTIMES; do
        if printf '%s\n' "${RESULTS[@]}" | grep -q "^$r .* FAIL$" && [ -f "$T/calls-$r.log" ]; then
            say ""
            say "failed runtime calls of $r:"
            grep -E '<- rc=[1-9]|^ +log:' "$T/calls-$r.log" | cut -c1-400 | sed 's/^/  /'
        fi
    done
fi
say ""
say "time: $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f s", e - s }')"
say "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
