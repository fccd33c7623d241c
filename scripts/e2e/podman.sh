#!/usr/bin/env bash
# End-to-end test: podman with husk as its OCI runtime, compared with runc.
#
#   scripts/e2e/podman.sh                 every scenario
#   scripts/e2e/podman.sh NAME...         only these scenarios
#   scripts/e2e/podman.sh --list          list the scenarios
#
# Each scenario drives podman (through conmon, as users do) twice, once with
# runc and once with husk, and records what can be seen: output, exit codes,
# container state, cgroup files, and what is left behind after `podman rm`
# (cgroup directories, runtime state, mounts). It prints
#   PASS name                          both runs agree, and meet the expectations
#   FAIL name: why                     then indented details: the difference
#                                      from runc, podman's errors, the runtime
#                                      calls conmon made and their exit status
# and a last line "N passed, M failed". Exits 1 if any scenario failed.
# A scenario whose runc run does not meet its expectations fails too, marked
# "(runc baseline)": then the test or the machine is wrong, not husk.
#
# Everything lives in a temporary directory: podman's store (vfs driver),
# run root, tmp dir, containers.conf, storage.conf, and two logging wrappers
# named husk and runc that podman is given as its runtimes. Nothing touches
# the system's podman state; all of it is removed at the end.
#
# Environment:
#   HUSK_BIN          husk binary to test (default: build with `cargo build
#                     --release` and use target/release/husk)
#   HUSK_E2E_KEEP=1   keep the temporary directory (logs, and a `podman`
#                     script there that runs podman on the same store)
#   HUSK_E2E_DEBUG=1  run podman with --log-level=debug (into the logs)
#   HUSK_E2E_TIMEOUT  seconds one podman command may take (default 60)
#
# Needs root (re-runs itself with sudo); installs podman, runc, conmon,
# uidmap, catatonit, python3 and iproute2 with apt-get when missing.
# shellcheck disable=SC2016 # the containers' shell code is single-quoted on purpose
set -u
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/e2e/compare.sh
. "$HERE/compare.sh"
IMG=localhost/husk-busybox
CMD_TIMEOUT=${HUSK_E2E_TIMEOUT:-60}
RUNTIMES=(runc husk)

SCENARIOS=(
    run-echo exit-code stdin init lifecycle create-start logs ps inspect kill
    pause top tty exec-tty
    memory update pids read-only caps user env workdir hostname network-none
    network-ns tmpfs volume devices defaults seccomp
)

case "${1:-}" in
-h | --help)
    sed -n '2,/^# shellcheck/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
--list)
    printf '%s\n' "${SCENARIOS[@]}"
    exit 0
    ;;
esac
for arg in "$@"; do
    case " ${SCENARIOS[*]} " in
    *" $arg "*) ;;
    *) die "unknown scenario '$arg' (see --list)" ;;
    esac
done

reexec_as_root "$0" "$@"

# ---------------------------------------------------------------------------
# Setup: packages, husk, the image's rootfs, the isolated podman.

apt_install_missing podman runc conmon uidmap catatonit python3 iproute2 busybox-static
have podman || die "podman is not installed"
[ -x /usr/sbin/runc ] || die "/usr/sbin/runc is missing"
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3) || die "python3 is missing"

if [ -z "${HUSK_BIN:-}" ]; then
    have cargo || die "cargo is not installed (or set HUSK_BIN)"
    say "building husk (cargo build --release)" >&2
    (cd "$REPO_ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
    HUSK_BIN=$REPO_ROOT/target/release/husk
fi
[ -x "$HUSK_BIN" ] || die "HUSK_BIN=$HUSK_BIN is not an executable"
HUSK_BIN=$(cd "$(dirname "$HUSK_BIN")" && pwd)/$(basename "$HUSK_BIN")

"$REPO_ROOT/scripts/mkrootfs.sh" >/dev/null || die "scripts/mkrootfs.sh failed"
ROOTFS=$REPO_ROOT/bundles/busybox/rootfs

# What podman makes outside its store, whatever the flags, and never
# removes: its cgroup parent (cgroupfs manager), netavark's run directory,
# the image copy's blob cache. Cleanup removes those that do not exist now.
CG_PARENTS_BEFORE=$(ls -d /sys/fs/cgroup/*/libpod_parent 2>/dev/null)
# Containers (and conmon) go under this script's own cgroup, never above
# it: podman's default parent, /libpod_parent at each hierarchy's root,
# would move them out of the subtree this machine gives us.
own_cg=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
[ -n "$own_cg" ] || own_cg=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
CGP="${own_cg%/}/husk-e2e-$$"
HAD_RUN_CONTAINERS=$([ -e /run/containers ] && echo yes)
HAD_VAR_LIB_CONTAINERS=$([ -e /var/lib/containers ] && echo yes)

T=$(mktemp -d "${TMPDIR:-/tmp}/husk-e2e-podman.XXXXXX")
W=$T/work
mkdir -p "$T/root" "$T/runroot" "$T/tmp" "$T/wrap" "$W"
export CONTAINERS_CONF=$T/containers.conf
export CONTAINERS_STORAGE_CONF=$T/storage.conf
export CONTAINERS_REGISTRIES_CONF=$T/registries.conf

# Podman's default ulimits (nofile 1048576) exceed this machine's hard limits
# without CAP_SYS_RESOURCE, so none are set. The "file" lock type keeps
# podman's locks in --tmpdir instead of the host-wide /dev/shm segment.
# runtime_supports_json: podman then passes --log FILE --log-format=json to
# husk exactly as it does to runc.
cat >"$T/containers.conf" <<EOF
[containers]
default_ulimits = []
netns = "none"
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
pull_policy = "never"
runtime = "runc"
runtime_supports_json = ["runc", "husk"]

[engine.runtimes]
runc = ["$T/wrap/runc"]
husk = ["$T/wrap/husk"]

[network]
network_config_dir = "$T/networks"
EOF
cat >"$T/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$T/runroot"
graphroot = "$T/root"
EOF
echo 'unqualified-search-registries = []' >"$T/registries.conf"

# The runtimes as podman sees them: wrappers that log each call (argv, exit
# status, stderr where that is safe, and on failure the end of the runtime's
# own --log file), then return the runtime's status.
for rt in "${RUNTIMES[@]}"; do
    case $rt in
    runc) real=/usr/sbin/runc ;;
    husk) real=$HUSK_BIN ;;
    esac
    sed -e "s|@NAME@|$rt|g" -e "s|@REAL@|$real|g" -e "s|@LOG@|$T/calls-$rt.log|g" \
        >"$T/wrap/$rt" <<'EOF'
#!/bin/sh
# @NAME@ as podman runs it: each call is logged to @LOG@.
log=@LOG@
echo "$$ @NAME@ $*" >>"$log"
# The subcommand: the first word that is not a global flag or a flag's value.
cmd="" skip=""
for a in "$@"; do
    if [ -n "$skip" ]; then skip=""; continue; fi
    case $a in
    --root | --log | --log-format | --criu) skip=1 ;;
    -*) ;;
    *) cmd=$a; break ;;
    esac
done
case $cmd in
create | exec | run)
    # Here the runtime's stdio is the container's: leave it alone.
    @REAL@ "$@"
    rc=$?
    ;;
*)
    # start, kill, delete, pause, ...: podman often drops their stderr.
    err=$(mktemp)
    @REAL@ "$@" 2>"$err"
    rc=$?
    sed 's/^/    stderr: /' "$err" >>"$log"
    cat "$err" >&2
    rm -f "$err"
    ;;
esac
echo "$$ exit $rc" >>"$log"
if [ "$rc" -ne 0 ]; then
    # The end of the runtime's --log file (podman passes one to create and exec).
    prev=""
    for a in "$@"; do
        case $prev:$a in
        --log:*) f=$a ;;
        *:--log=*) f=${a#--log=} ;;
        *) f="" ;;
        esac
        [ -n "$f" ] && [ -f "$f" ] && tail -n 5 "$f" | sed 's/^/    log: /' >>"$log"
        prev=$a
    done
fi
exit "$rc"
EOF
    chmod 0755 "$T/wrap/$rt"
    : >"$T/calls-$rt.log"
done

# $T/podman: podman on the test's store. Also handy by hand (HUSK_E2E_KEEP=1).
debug_flag=""
[ "${HUSK_E2E_DEBUG:-}" = 1 ] && debug_flag="--log-level=debug"
cat >"$T/podman" <<EOF
#!/bin/bash
export CONTAINERS_CONF=$T/containers.conf
export CONTAINERS_STORAGE_CONF=$T/storage.conf
export CONTAINERS_REGISTRIES_CONF=$T/registries.conf
# run and create get --cgroup-parent $CGP (see CGP above).
args=()
cmd=
while [ \$# -gt 0 ]; do
    a=\$1
    shift
    args+=("\$a")
    if [ "\$a" = --runtime ] && [ \$# -gt 0 ]; then
        args+=("\$1")
        shift
        continue
    fi
    if [ -z "\$cmd" ] && [ "\${a#-}" = "\$a" ]; then
        cmd=\$a
        case \$cmd in run | create) args+=(--cgroup-parent "$CGP") ;; esac
    fi
done
exec podman --root $T/root --runroot $T/runroot --tmpdir $T/tmp \\
    --storage-driver vfs --cgroup-manager cgroupfs $debug_flag "\${args[@]}"
EOF
chmod 0755 "$T/podman"

cleanup() {
    local id
    for id in $("$T/podman" ps -aq --no-trunc 2>/dev/null); do
        timeout -k 5 60 "$T/podman" rm -f -t 0 "$id" >/dev/null 2>&1
    done
    if [ "${HUSK_E2E_KEEP:-}" = 1 ]; then
        say "kept $T (logs in work/; podman on that store: $T/podman --runtime husk ...)" >&2
        return
    fi
    timeout -k 5 120 "$T/podman" system reset -f >/dev/null 2>&1
    # Whatever podman could not remove: conmon processes of this store, the
    # containers' cgroups, runtime state, mounts.
    grep -lsF -- "$T/" /proc/[0-9]*/cmdline | cut -d/ -f3 | while read -r pid; do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = conmon ] && kill -KILL "$pid" 2>/dev/null
    done
    for id in $(all_ids); do
        kill_cgroup "$id"
        [ -d "/run/husk/$id" ] && "$HUSK_BIN" delete --force "$id" >/dev/null 2>&1
        [ -d "/run/runc/$id" ] && /usr/sbin/runc delete --force "$id" >/dev/null 2>&1
    done
    ip netns list 2>/dev/null | awk -v p="husk-e2e-$$-" 'index($1, p) == 1 { print $1 }' |
        while read -r ns; do ip netns del "$ns"; done
    awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r mnt; do umount -l "$mnt" 2>/dev/null; done
    # What podman made outside the store (see CG_PARENTS_BEFORE).
    local d
    for d in /sys/fs/cgroup/*"$CGP" /sys/fs/cgroup"$CGP"; do
        [ -d "$d" ] || continue
        find "$d" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
        rmdir "$d" 2>/dev/null
    done
    for d in /sys/fs/cgroup/*/libpod_parent; do
        [ -d "$d" ] || continue
        printf '%s\n' "$CG_PARENTS_BEFORE" | grep -qxF -- "$d" && continue
        rmdir "$d/conmon" "$d" 2>/dev/null
    done
    [ -z "$HAD_RUN_CONTAINERS" ] && rmdir /run/containers/networks /run/containers 2>/dev/null
    if [ -z "$HAD_VAR_LIB_CONTAINERS" ]; then
        rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb
        rmdir /var/lib/containers/cache /var/lib/containers 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
# Helpers for the scenarios. A scenario runs once per runtime ($RT), in a
# subshell, and writes what it sees to $OBS (compared between runtimes) and
# unmet expectations to $PROB. Every podman command goes to $LOG with its
# stderr and exit status.

RT="" OBS="" PROB="" LOG=""
OUT="" RC=0

# Container IDs in obs: the same placeholder whatever the runtime.
normalize() {
    sed -E 's/[0-9a-f]{64}/<ID>/g; s/(^|[^0-9a-f])[0-9a-f]{12}($|[^0-9a-f])/\1<SHORTID>\2/g; s/\t/ /g'
}

# pm ARGS...: podman on the test store with the pass's runtime; stdout is the
# command's, stderr goes to the log.
pm() {
    printf '$ podman --runtime %s %s\n' "$RT" "$(quote_args "$@")" >>"$LOG"
    timeout -k 10 "$CMD_TIMEOUT" "$T/podman" --runtime "$RT" "$@" 2>>"$LOG"
    local rc=$?
    [ "$rc" -ne 0 ] && printf '  (exit %d)\n' "$rc" >>"$LOG"
    [ "$rc" -eq 124 ] && printf '  (timed out after %ss)\n' "$CMD_TIMEOUT" >>"$LOG"
    return "$rc"
}

# step KEY ARGS...: pm ARGS, then record its stdout as KEY and its exit
# status as KEY.rc; both are left in OUT and RC.
step() {
    local key=$1
    shift
    OUT=$(pm "$@")
    RC=$?
    obs "$key" "$OUT"
    obs "$key.rc" "$RC"
}

# capture ARGS...: podman ARGS with stdout in OUT, stderr in ERR (both also
# logged), exit status in RC: for commands whose stderr is the container's.
capture() {
    local errf=$W/stderr.$$
    printf '$ podman --runtime %s %s\n' "$RT" "$(quote_args "$@")" >>"$LOG"
    OUT=$(timeout -k 10 "$CMD_TIMEOUT" "$T/podman" --runtime "$RT" "$@" 2>"$errf")
    RC=$?
    ERR=$(cat "$errf")
    sed 's/^/  stderr: /' "$errf" >>"$LOG"
    [ "$RC" -ne 0 ] && printf '  (exit %d)\n' "$RC" >>"$LOG"
    rm -f "$errf"
}

# step_err KEY ARGS...: for a command that must fail in the runtime: records
# its stdout, exit status and the end of podman's error message (podman's
# own words: "OCI permission denied", ...). The runtime's own message, which
# is not runc's, only goes to the log.
step_err() {
    local key=$1
    shift
    capture "$@"
    obs "$key" "$OUT"
    obs "$key.err" "${ERR##*: }"
    obs "$key.rc" "$RC"
}

# pty_run KEY INPUT ARGS...: podman ARGS on a pseudo-terminal, typing INPUT
# at the shell prompt; OUT is what appeared on the terminal, RC the exit.
pty_run() {
    local key=$1 input=$2
    shift 2
    printf '$ podman --runtime %s %s   (on a pty, typing %s)\n' "$RT" "$(quote_args "$@")" "$(quote "$input")" >>"$LOG"
    local all
    all=$("$PYTHON" "$HERE/podman/ptyrun.py" "$CMD_TIMEOUT" '# ' "$input" \
        "$T/podman" --runtime "$RT" "$@" 2>&1)
    printf '%s\n' "$all" | sed 's/^/  tty: /' >>"$LOG"
    RC=$(printf '%s\n' "$all" | tail -n 1 | sed 's/^exit=//')
    OUT=$(printf '%s\n' "$all" | sed '$d')
    obs "$key.rc" "$RC"
}

# wait_log NAME TEXT: wait up to 10 s for TEXT in the container's log.
wait_log() {
    for _ in $(seq 100); do
        pm logs "$1" 2>/dev/null | grep -qxF -- "$2" && return 0
        sleep 0.1
    done
    return 1
}

# host_pid NAME: the container's init as the host sees it ("" if none).
host_pid() {
    local pid
    pid=$(pm inspect -f '{{.State.Pid}}' "$1") || return 0
    [ "${pid:-0}" -gt 0 ] 2>/dev/null && echo "$pid"
}

# cg_read PID WHAT: one of PID's cgroup settings as the host sees it, in
# the same form on cgroup v1 (and hybrid) and v2 hosts:
#   memory  the memory limit in bytes ("max" if none)
#   pids    pids.max
#   cpu     "QUOTA PERIOD" ("max PERIOD" if no quota)
#   freezer FROZEN or THAWED
cg_read() {
    local pid=$1 what=$2 ctl v1 v2
    [ "$pid" != 0 ] && [ -r "/proc/$pid/cgroup" ] || return 0
    case $what in memory | pids | cpu | freezer) ctl=$what ;; *) return 1 ;; esac
    v1=$(awk -F: -v c="$ctl" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$pid/cgroup")
    if [ -n "$v1" ]; then
        v1=/sys/fs/cgroup/$ctl$v1
        case $what in
        memory) sed 's/^9223372036854771712$/max/' "$v1/memory.limit_in_bytes" ;;
        pids) cat "$v1/pids.max" ;;
        cpu) echo "$(sed 's/^-1$/max/' "$v1/cpu.cfs_quota_us") $(cat "$v1/cpu.cfs_period_us")" ;;
        freezer) cat "$v1/freezer.state" ;;
        esac
    else
        v2=/sys/fs/cgroup
        [ "$(stat -fc %T $v2)" = cgroup2fs ] || v2=/sys/fs/cgroup/unified
        v2=$v2$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
        case $what in
        memory) cat "$v2/memory.max" ;;
        pids) cat "$v2/pids.max" ;;
        cpu) cat "$v2/cpu.max" ;;
        freezer) sed 's/^1$/FROZEN/; s/^0$/THAWED/' "$v2/cgroup.freeze" ;;
        esac
    fi 2>/dev/null
}

# In the container: its memory limit and pids.max, on v1 or v2. (Without
# /dev/null: that is the devices scenario's business.)
IN_MEMORY='f=/sys/fs/cgroup/memory/memory.limit_in_bytes; [ -e $f ] || f=/sys/fs/cgroup/memory.max; cat $f'
IN_PIDS='f=/sys/fs/cgroup/pids/pids.max; [ -e $f ] || f=/sys/fs/cgroup/pids.max; cat $f'

# The IDs of the containers a runtime was asked to create, from the calls
# log (all of them, or those after line $2).
ids_of() {
    tail -n +"$((${2:-0} + 1))" "$T/calls-$1.log" |
        awk '{ for (i = 3; i <= NF; i++) if ($i == "create") { print $NF; break } }' |
        grep -E '^[0-9a-f]{64}$' | sort -u
}
all_ids() {
    local rt
    for rt in "${RUNTIMES[@]}"; do ids_of "$rt"; done
}

# leftovers RUNTIME ID...: what is left of these containers on the host.
leftovers() {
    local rt=$1 id d
    shift
    for id in "$@"; do
        find /sys/fs/cgroup -maxdepth 6 -type d -name "*$id*" 2>/dev/null | sed "s|^/sys/fs/cgroup/|cgroup |"
        [ -e "/run/$rt/$id" ] && echo "state /run/$rt/$id"
        grep -F -- "$id" /proc/self/mountinfo | awk '{ print "mount " $5 }'
        # (a pattern that does not match its own grep's command line)
        grep -lsE -- "${id:0:1}[${id:1:1}]${id:2}" /proc/[0-9]*/cmdline | cut -d/ -f3 | while read -r pid; do
            echo "process $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60)"
        done
    done | sed "s|$T|<T>|g" | sort -u
}

kill_cgroup() {
    local id=$1 d
    for d in $(find /sys/fs/cgroup -maxdepth 6 -type d -name "*$id*" 2>/dev/null | sort -r); do
        [ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
        xargs -r kill -KILL <"$d/cgroup.procs" 2>/dev/null
        rmdir "$d" 2>/dev/null
    done
}

# ---------------------------------------------------------------------------
# Scenarios. N is the container name (one per scenario; the two passes run
# one after the other, and each removes its containers).

s_run_echo() {
    step out run --rm "$IMG" echo hi
    check "run --rm echo hi: output" "$OUT" hi
    check "run --rm echo hi: exit" "$RC" 0
    step left ps -a --format '{{.Names}}'
    check "ps -a after run --rm" "$OUT" ""
}

s_exit_code() {
    step exit3 run --rm "$IMG" sh -c 'exit 3'
    check "sh -c 'exit 3': exit" "$RC" 3
    step false run --rm "$IMG" false
    check "false: exit" "$RC" 1
    # podman maps the runtime's error text to 127 / 126, as docker does.
    step_err notfound run --rm "$IMG" /no/such/program
    check "missing program: exit" "$RC" 127
    step_err noexec run --rm "$IMG" /etc/passwd
    check "not executable: exit" "$RC" 126
}

s_stdin() {
    OUT=$(printf 'line1\nline2\n' | pm run -i --rm "$IMG" sh -c 'wc -l; echo done')
    RC=$?
    obs out "$OUT"
    obs rc "$RC"
    check "run -i with piped stdin: output" "$(echo "$OUT" | tr '\n' ' ')" "2 done "
    check "run -i: exit" "$RC" 0
}

# --init: podman bind-mounts catatonit as the container's pid 1.
s_init() {
    step out run --rm --init "$IMG" sh -c 'tr "\0" " " </proc/1/cmdline; echo; exit 6'
    check_match "pid 1 with --init" "$OUT" "/run/podman-init -- sh -c *"
    check "exit status through the init" "$RC" 6
}

s_lifecycle() {
    local N=e2e-lifecycle pid t0 t1
    step run run -d --name $N "$IMG" sleep 60
    check_match "run -d: output" "$OUT" "$(printf '%.0s[0-9a-f]' $(seq 64))"
    step status inspect -f '{{.State.Status}} {{.State.Running}}' $N
    check "status while running" "$OUT" "running true"
    pid=$(host_pid $N)
    obs "pid>0" "${pid:+yes}"
    check "State.Pid > 0" "${pid:+yes}" yes
    obs host-cmdline "$(tr '\0' ' ' <"/proc/${pid:-0}/cmdline" 2>/dev/null)"
    step exec exec $N sh -c 'echo in-exec $((1+2)); exit 4'
    check "exec: output" "$OUT" "in-exec 3"
    check "exec: exit" "$RC" 4
    step exec-init exec $N sh -c 'tr "\0" " " </proc/1/cmdline'
    check "exec sees the container's pid 1" "$OUT" "sleep 60 "
    step exec-user exec -u 1000:1000 $N id
    check_match "exec -u 1000:1000" "$OUT" "uid=1000(demo) gid=1000(demo)*"
    step exec-env exec -e X=1 -w /tmp $N sh -c 'echo "$X $(pwd)"'
    check "exec -e X=1 -w /tmp" "$OUT" "1 /tmp"
    step_err exec-missing exec $N /no/such/program
    check "exec of a missing program: exit" "$RC" 127
    # sleep is pid 1 in its namespace, so SIGTERM does nothing: podman must
    # send SIGKILL after the 2 s timeout.
    t0=$(date +%s%N)
    step stop stop --time 2 $N
    t1=$(date +%s%N)
    check "stop --time 2" "$OUT" $N
    local waited=$(((t1 - t0) / 1000000))
    obs "stop took 2-10 s" "$([ $waited -ge 1900 ] && [ $waited -lt 10000 ] && echo yes || echo "no (${waited} ms)")"
    check "stop --time 2: took (ms)" "$([ $waited -ge 1900 ] && [ $waited -lt 10000 ] && echo ok || echo $waited)" ok
    step after inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Pid}}' $N
    check "after stop: status exitcode pid" "$OUT" "exited 137 0"
    [ -n "$pid" ] && obs "init gone after stop" "$([ -e "/proc/$pid" ] && echo no || echo yes)"
    step rm rm $N
    check "rm" "$OUT" $N
    step gone ps -a --format '{{.Names}}'
    check "ps -a after rm" "$OUT" ""
}

s_create_start() {
    local N=e2e-create-start
    step create create --name $N "$IMG" sleep 60
    step init init $N
    step status-init inspect -f '{{.State.Status}}' $N
    check "status after init" "$OUT" initialized
    step start start $N
    step status-start inspect -f '{{.State.Status}}' $N
    check "status after start" "$OUT" running
    step stop stop -t 0 $N
    step status-stop inspect -f '{{.State.Status}} {{.State.ExitCode}}' $N
    check "status after stop -t 0" "$OUT" "exited 137"
    step start-again start $N
    step status-again inspect -f '{{.State.Status}}' $N
    check "status after a second start" "$OUT" running
    step exec exec $N echo alive
    check "exec after a second start" "$OUT" alive
    step restart restart -t 0 $N
    step status-restart inspect -f '{{.State.Status}}' $N
    check "status after restart" "$OUT" running
    step rm-force rm -f -t 0 $N
    check "rm -f of a running container" "$OUT" $N
}

s_logs() {
    local N=e2e-logs
    step run run -d --name $N "$IMG" sh -c 'echo out1; echo err1 >&2; echo out2'
    step wait wait $N
    check "wait" "$OUT" 0
    step2 logs logs $N
    check "logs: stdout" "$OUT" "out1"$'\n'"out2"
    check "logs: stderr" "$ERR" "err1"
    step rm rm $N
    step run2 run -d --name $N "$IMG" sh -c 'echo 1; echo 2; echo 3'
    step wait2 wait $N
    step tail logs --tail 2 $N
    check "logs --tail 2" "$OUT" "2"$'\n'"3"
    step2 attached run --rm "$IMG" sh -c 'echo o1; echo e1 >&2'
    check "attached run: stdout" "$OUT" o1
    check "attached run: stderr" "$ERR" e1
}

# "Up 2 seconds ago" -> "Up"; "Exited (137) 1 second ago" -> "Exited (137)"
ps_status() {
    sed -E 's/ (Up|Paused|Created|Exited \([0-9]+\)).*/ \1/'
}

s_ps() {
    local N=e2e-ps
    step run run -d --name $N "$IMG" sleep 60
    OUT=$(pm ps --format '{{.Names}} {{.Status}} {{.Command}}' | ps_status)
    obs ps-running "$OUT"
    check "ps while running" "$OUT" "$N Up"
    step kill kill -s KILL $N
    step wait wait $N
    check "exit code after kill -s KILL" "$OUT" 137
    step ps-after ps --format '{{.Names}}'
    check "ps after exit" "$OUT" ""
    OUT=$(pm ps -a --format '{{.Names}} {{.Status}}' | ps_status)
    obs ps-a "$OUT"
    check "ps -a after exit" "$OUT" "$N Exited (137)"
}

s_inspect() {
    local N=e2e-inspect pid
    step run run -d --name $N "$IMG" sleep 60
    step state inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Paused}} {{.State.ExitCode}}' $N
    check "State while running" "$OUT" "running true false 0"
    OUT=$(pm inspect -f '{{.OCIRuntime}}' $N)
    check "OCIRuntime" "$OUT" "$RT"
    pid=$(host_pid $N)
    check "State.Pid > 0" "${pid:+yes}" yes
    obs host-comm "$(cat "/proc/${pid:-0}/comm" 2>/dev/null)"
    # Where the runtime put the init: cgroupsPath is absolute
    # ($CGP/libpod-ID), so from each hierarchy's root.
    obs host-cgroups "$(sort -t: -k2 "/proc/${pid:-0}/cgroup" 2>/dev/null | cut -d: -f2-)"
    local line
    line=$(grep -E '^[0-9]+:memory:' "/proc/${pid:-0}/cgroup" 2>/dev/null || grep '^0::' "/proc/${pid:-0}/cgroup" 2>/dev/null)
    check_match "the init's (memory) cgroup" "$line" "*:$CGP/libpod-*"
    step kill kill -s KILL $N
    step wait wait $N
    step state-after inspect -f '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.State.Pid}}' $N
    check "State after kill" "$OUT" "exited false 137 0"
}

s_kill() {
    local N=e2e-kill
    step run run -d --name $N "$IMG" sh -c 'trap "echo got-term; exit 5" TERM; echo ready; while :; do sleep 0.1; done'
    wait_log $N ready
    step kill-term kill -s TERM $N
    check "kill -s TERM" "$OUT" $N
    step wait wait $N
    check "exit code after TERM (trap exits 5)" "$OUT" 5
    step logs logs $N
    check "logs after TERM" "$OUT" "ready"$'\n'"got-term"
    step rm rm $N
    step run2 run -d --name $N "$IMG" sleep 60
    step kill-kill kill -s KILL $N
    step wait2 wait $N
    check "exit code after kill -s KILL" "$OUT" 137
    step rm2 rm $N
    step run3 run -d --name $N "$IMG" sleep 60
    step kill-default kill $N
    step wait3 wait $N
    check "exit code after kill (default SIGKILL)" "$OUT" 137
    step kill-stopped kill $N
    obs kill-stopped.rc-nonzero "$([ "$RC" -ne 0 ] && echo yes)"
}

s_pause() {
    local N=e2e-pause pid state
    step run run -d --name $N "$IMG" sleep 60
    pid=$(host_pid $N)
    step pause pause $N
    check "pause" "$OUT" $N
    step status-paused inspect -f '{{.State.Status}} {{.State.Paused}}' $N
    check "status after pause" "$OUT" "paused true"
    state=$(cg_read "${pid:-0}" freezer)
    obs freezer-paused "$state"
    check "host freezer state after pause" "$state" FROZEN
    OUT=$(pm ps --format '{{.Names}} {{.Status}}' | ps_status)
    obs ps-paused "$OUT"
    step unpause unpause $N
    check "unpause" "$OUT" $N
    step status-unpaused inspect -f '{{.State.Status}} {{.State.Paused}}' $N
    check "status after unpause" "$OUT" "running false"
    state=$(cg_read "${pid:-0}" freezer)
    obs freezer-unpaused "$state"
    check "host freezer state after unpause" "$state" THAWED
    step exec exec $N echo alive
    check "exec after unpause" "$OUT" alive
    step pause2 pause $N
    step rm-paused rm -f -t 0 $N
    check "rm -f of a paused container" "$OUT" $N
}

s_top() {
    local N=e2e-top
    step run run -d --name $N "$IMG" sleep 60
    OUT=$(pm top $N pid args | sed -E 's/ +/ /g; s/ $//')
    obs top "$OUT"
    check "top pid args" "$OUT" "PID COMMAND"$'\n'"1 sleep 60"
    OUT=$(pm top $N | awk 'NR > 1 { print $1, $2, $3 }')
    obs top-default "$OUT"
    check "top: user pid ppid" "$OUT" "root 1 0"
    step stats stats --no-stream --format '{{.Name}} {{.PIDs}}' $N
    check "stats --no-stream" "$OUT" "$N 1"
}

s_tty() {
    local N=e2e-tty
    pty_run run-it $'echo from-$((6+1))tty; tty; stty size; exit 7\n' \
        run -it --rm --name $N "$IMG" sh
    check "run -it: exit" "$RC" 7
    local got
    got=$(printf '%s\n' "$OUT" | grep -xE 'from-7tty|/dev/pts/[0-9]+|[0-9]+ [0-9]+')
    obs output "$got"
    check "run -it: output" "$got" "from-7tty"$'\n'"/dev/pts/0"$'\n'"24 80"
}

s_exec_tty() {
    local N=e2e-exec-tty
    step run run -d --name $N "$IMG" sleep 60
    pty_run exec-it $'echo from-$((4+5))exec; tty; stty size; exit 9\n' exec -it $N sh
    check "exec -it: exit" "$RC" 9
    local got
    got=$(printf '%s\n' "$OUT" | grep -xE 'from-9exec|/dev/pts/[0-9]+|[0-9]+ [0-9]+')
    obs output "$got"
    check "exec -it: output" "$got" "from-9exec"$'\n'"/dev/pts/0"$'\n'"24 80"
    step exec-after exec $N echo alive
    check "exec after exec -it" "$OUT" alive
}

s_memory() {
    local N=e2e-memory pid
    step inside run --rm --memory 64m "$IMG" sh -c "$IN_MEMORY"
    check "memory limit inside" "$OUT" 67108864
    step run run -d --name $N --memory 64m "$IMG" sleep 60
    step hostconfig inspect -f '{{.HostConfig.Memory}}' $N
    check "HostConfig.Memory" "$OUT" 67108864
    pid=$(host_pid $N)
    OUT=$(cg_read "${pid:-0}" memory)
    obs host-limit "$OUT"
    check "memory limit on the host" "$OUT" 67108864
    OUT=$(pm stats --no-stream --format '{{.MemUsage}}' $N | sed 's|.*/ *||')
    obs stats-limit "$OUT"
    check "stats: memory limit" "$OUT" 67.11MB
}

# podman update: the runtime's update with a resources file.
s_update() {
    local N=e2e-update pid
    step run run -d --name $N --memory 64m "$IMG" sleep 60
    pid=$(host_pid $N)
    step update update --memory 128m --cpus 0.5 $N
    check "update: exit" "$RC" 0
    OUT=$(cg_read "${pid:-0}" memory)
    obs host-memory "$OUT"
    check "memory limit on the host after update" "$OUT" 134217728
    OUT=$(cg_read "${pid:-0}" cpu)
    obs host-cpu "$OUT"
    check "cpu quota and period on the host after update" "$OUT" "50000 100000"
    step inside exec $N sh -c "$IN_MEMORY"
    check "memory limit inside after update" "$OUT" 134217728
    step hostconfig inspect -f '{{.HostConfig.Memory}} {{.HostConfig.CpuQuota}}' $N
}

s_pids() {
    local N=e2e-pids pid
    step2 inside run --rm --pids-limit 20 "$IMG" sh -c \
        "$IN_PIDS"'; p="sleep 3"; i=1; while [ $i -lt 30 ]; do p="$p | sleep 3"; i=$((i+1)); done; eval "$p"; echo not-limited'
    # 30 processes in one pipeline (not background jobs: ash opens /dev/null
    # for those, and that would test the devices cgroup too). ash gives up at
    # the first fork that fails.
    check "pids.max inside, then no more forks" "$OUT" 20
    check_match "fork error" "$ERR" "*can't fork*"
    check "exit status of sh after a failed fork" "$RC" 2
    step run run -d --name $N --pids-limit 20 "$IMG" sleep 60
    pid=$(host_pid $N)
    OUT=$(cg_read "${pid:-0}" pids)
    obs host-pids-max "$OUT"
    check "pids.max on the host" "$OUT" 20
}

s_read_only() {
    step out run --rm --read-only "$IMG" sh -c \
        'touch /x 2>&1; echo "rc=$?"; touch /tmp/x && echo tmp-writable; grep " / " /proc/mounts | cut -d" " -f4 | cut -d, -f1'
    check "read-only root" "$OUT" "touch: /x: Read-only file system"$'\n'"rc=1"$'\n'"tmp-writable"$'\n'"ro"
}

s_caps() {
    step out run --rm --cap-drop ALL --cap-add NET_RAW "$IMG" grep Cap /proc/self/status
    check "CapEff" "$(echo "$OUT" | awk '$1 == "CapEff:" { print $2 }')" 0000000000002000
    check "CapBnd" "$(echo "$OUT" | awk '$1 == "CapBnd:" { print $2 }')" 0000000000002000
}

s_user() {
    step out run --rm --user 1000:1000 "$IMG" sh -c 'id; grep -E "^(Uid|Gid|Groups|CapEff):" /proc/self/status'
    check_match "id" "$(echo "$OUT" | head -n 1)" "uid=1000(demo) gid=1000(demo)*"
    check "CapEff of a non-root user" "$(echo "$OUT" | awk '$1 == "CapEff:" { print $2 }')" 0000000000000000
    # Detached, podman calls the runtime's start itself.
    local N=e2e-user
    step run-d run -d --name $N --user 1000:1000 "$IMG" sleep 60
    step status inspect -f '{{.State.Status}}' $N
    check "status of a detached --user 1000:1000 container" "$OUT" running
    step exec-id exec $N id
    check_match "exec in a --user 1000:1000 container" "$OUT" "uid=1000(demo) gid=1000(demo)*"
}

s_env() {
    step out run --rm --env FOO=bar "$IMG" sh -c 'echo "$FOO"; env | sort'
    check "FOO" "$(echo "$OUT" | head -n 1)" bar
}

s_workdir() {
    step tmp run --rm --workdir /tmp "$IMG" pwd
    check "--workdir /tmp" "$OUT" /tmp
    step user run --rm --workdir /home/demo --user 1000 "$IMG" sh -c 'pwd; touch f && echo writable'
    check "--workdir /home/demo --user 1000" "$OUT" "/home/demo"$'\n'"writable"
}

s_hostname() {
    step out run --rm --hostname h1 "$IMG" sh -c 'hostname; echo "$(cat /etc/hostname)"; uname -n'
    check "hostname" "$OUT" "h1"$'\n'"h1"$'\n'"h1"
}

s_network_none() {
    step out run --rm --network none "$IMG" sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
    check "interfaces" "$OUT" lo
}

# --network ns:PATH: the runtime joins a network namespace made beforehand
# (here with a veth pair in it), as it does for podman's own networks.
s_network_ns() {
    local ns=husk-e2e-$$-$RT
    ip netns add "$ns" || return 1
    ip -n "$ns" link add e2e-a type veth peer name e2e-b
    step out run --rm --network "ns:/run/netns/$ns" "$IMG" sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort'
    check "interfaces in the joined namespace" "$OUT" "e2e-a"$'\n'"e2e-b"$'\n'"lo"
    local got want
    got=$(pm run --rm --network "ns:/run/netns/$ns" "$IMG" readlink /proc/self/ns/net)
    want=$(nsenter --net="/run/netns/$ns" readlink /proc/self/ns/net)
    obs "in the joined namespace" "$([ "$got" = "$want" ] && echo yes || echo "no ($got, want $want)")"
    check "the container's network namespace" "$got" "$want"
    ip netns del "$ns"
}

s_tmpfs() {
    step out run --rm --tmpfs /scratch "$IMG" sh -c \
        'grep " /scratch " /proc/mounts | cut -d" " -f1-3; echo x >/scratch/f && cat /scratch/f'
    check "tmpfs mount" "$OUT" "tmpfs /scratch tmpfs"$'\n'"x"
    step options run --rm --tmpfs /scratch:size=1m,mode=0700 "$IMG" sh -c \
        'grep " /scratch " /proc/mounts | cut -d" " -f4; stat -c %a /scratch'
}

s_volume() {
    local dir=$W/volume-$RT
    mkdir -p "$dir"
    echo hello-from-host >"$dir/in.txt"
    step out run --rm -v "$dir:/data" -v "$dir:/ro:ro" "$IMG" sh -c \
        'cat /data/in.txt; echo from-container >/data/out.txt; touch /ro/y 2>&1; echo "rc=$?"'
    check "volume" "$OUT" "hello-from-host"$'\n'"touch: /ro/y: Read-only file system"$'\n'"rc=1"
    OUT=$(cat "$dir/out.txt" 2>/dev/null)
    obs host-sees "$OUT"
    check "file written in the container, seen on the host" "$OUT" from-container
}

# The default devices: there, and usable (the devices cgroup allows them).
s_devices() {
    step out run --rm "$IMG" sh -c 'exec 2>&1
        for d in null zero full random urandom tty; do
            if [ -c /dev/$d ]; then echo "$d: char $(stat -c "%t:%T %a" /dev/$d)"; else echo "$d: missing"; fi
        done
        echo x >/dev/null && echo "write /dev/null: ok"
        echo "read /dev/zero: $(head -c 4 /dev/zero | wc -c)"
        echo "read /dev/urandom: $(head -c 4 /dev/urandom | wc -c)"
        echo "## devices.list"; cat /sys/fs/cgroup/devices/devices.list
    '
    check "write /dev/null" "$(echo "$OUT" | grep -c '^write /dev/null: ok$')" 1
    check "read /dev/zero" "$(echo "$OUT" | grep '^read /dev/zero')" "read /dev/zero: 4"
    check "read /dev/urandom" "$(echo "$OUT" | grep '^read /dev/urandom')" "read /dev/urandom: 4"
}

# What a plain container looks like from inside.
s_defaults() {
    step out run --rm "$IMG" sh -c '
        echo "## id"; id
        echo "## status"; grep -E "^(Cap|NoNewPrivs|Seccomp:)" /proc/self/status
        echo "## umask"; umask
        echo "## ulimits"; ulimit -n; ulimit -u
        echo "## cwd"; pwd
        echo "## hostname"; hostname
        echo "## /dev"; for f in /dev/*; do stat -c "%N %A %U:%G %t:%T" $f; done
        # /sys/fs/cgroup differs on purpose: on a v1 host husk makes the
        # tmpfs there read-only (runc leaves it writable) and adds the
        # container'"'"'s own cgroup2 view at /sys/fs/cgroup/unified.
        echo "## mounts (sorted)"; awk "{ print \$2, \$3, \$4 }" /proc/self/mounts | grep -v "^/sys/fs/cgroup" | sort
        echo "## cgroup"; cat /proc/self/cgroup
        echo "## pid 1"; tr "\0" " " </proc/1/cmdline | cut -c1-5; echo
        echo "## masked"; wc -c </proc/kcore; ls /sys/firmware | wc -l
        echo "## proc/sys"; touch /proc/sys/kernel/domainname 2>&1
        true
    '
    check "exit" "$RC" 0
}

# Podman's default seccomp profile (every scenario runs with it), and none.
s_seccomp() {
    step default run --rm "$IMG" grep -E '^Seccomp' /proc/self/status
    check "Seccomp (default profile)" "$(echo "$OUT" | awk '$1 == "Seccomp:" { print $2 }')" 2
    step unconfined run --rm --security-opt seccomp=unconfined "$IMG" grep -E '^Seccomp' /proc/self/status
    check "Seccomp (unconfined)" "$(echo "$OUT" | awk '$1 == "Seccomp:" { print $2 }')" 0
}

# ---------------------------------------------------------------------------
# Runner.

"$T/podman" import - "$IMG" < <(tar -C "$ROOTFS" -c .) >/dev/null 2>"$W/import.log" ||
    die "podman import failed: $(cat "$W/import.log")"

run_pass() {
    local name=$1
    RT=$2
    OBS=$W/$name.$RT.obs PROB=$W/$name.$RT.prob LOG=$W/$name.$RT.log
    : >"$OBS"
    : >"$PROB"
    : >"$LOG"
    local mark
    mark=$(wc -l <"$T/calls-$RT.log")
    echo "=== $name" >>"$T/calls-$RT.log"
    ("s_${name//-/_}")
    local rc=$?
    [ "$rc" -ne 0 ] && echo "the scenario's script failed (exit $rc)" >>"$PROB"
    # Remove what is left, then look for what the runtime left behind.
    local id
    for id in $(pm ps -aq); do
        pm rm -f -t 0 "$id" >/dev/null
    done
    local -a ids
    mapfile -t ids < <(ids_of "$RT" "$mark")
    local left=""
    for _ in $(seq 50); do
        left=$(leftovers "$RT" "${ids[@]}")
        [ -z "$left" ] && break
        sleep 0.1
    done
    obs "left behind after rm" "${left:-nothing}"
    [ -n "$left" ] && printf 'left behind after podman rm: %s\n' "$(echo "$left" | tr '\n' ' ' | normalize)" >>"$PROB"
    # The calls conmon made, for the report.
    tail -n +"$((mark + 2))" "$T/calls-$RT.log" | sed -E "s|$T|<T>|g" >"$W/$name.$RT.calls"
}

passed=0
failed=0
failed_names=()
start=$SECONDS
selected=("$@")
[ "${#selected[@]}" -gt 0 ] || selected=("${SCENARIOS[@]}")

for name in "${selected[@]}"; do
    for rt in "${RUNTIMES[@]}"; do
        run_pass "$name" "$rt"
    done
    b=$W/$name
    reason=""
    if [ -s "$b.husk.prob" ]; then
        reason="husk: $(head -n 1 "$b.husk.prob")"
        n=$(wc -l <"$b.husk.prob")
        [ "$n" -gt 1 ] && reason="$reason (+$((n - 1)) more)"
    elif ! cmp -s "$b.runc.obs" "$b.husk.obs"; then
        reason="husk differs from runc: $(diff "$b.runc.obs" "$b.husk.obs" | grep -m1 '^>' | cut -c3-)"
    fi
    if [ -s "$b.runc.prob" ]; then
        reason="${reason:+$reason; }(runc baseline) $(head -n 1 "$b.runc.prob")"
    fi
    if [ -z "$reason" ]; then
        say "PASS $name"
        passed=$((passed + 1))
        continue
    fi
    say "FAIL $name: $reason"
    failed=$((failed + 1))
    failed_names+=("$name")
    details "$b.husk.prob" "husk's unmet expectations:" 20
    details "$b.runc.prob" "runc's unmet expectations (the test or the machine is wrong):" 20
    diff -U0 "$b.runc.obs" "$b.husk.obs" | tail -n +3 | grep -v '^@@' >"$b.diff"
    details "$b.diff" "observations (- runc, + husk):" 40
    grep -E '^\$ |Error|error|level=(error|warning)|\(exit|\(timed|stderr: ' "$b.husk.log" |
        sed -E "s|$T|<T>|g" >"$b.husk.errs"
    details "$b.husk.errs" "podman commands with husk (stderr, exit status):" 60
    grep -B3 -A6 -E '^[0-9]+ exit [1-9]' "$b.husk.calls" >"$b.husk.failed-calls"
    details "$b.husk.failed-calls" "husk calls that failed (argv, stderr, exit, husk's --log):" 40
done

say ""
say "podman e2e (husk vs runc): $((SECONDS - start))s; failed: ${failed_names[*]:-none}"
say "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
