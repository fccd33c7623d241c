#!/usr/bin/env bash
# End-to-end test: docker (dockerd 20.10 + containerd + runc v2 shim) with
# husk as its OCI runtime, compared with runc.
#
#   scripts/e2e/docker.sh                 every scenario
#   scripts/e2e/docker.sh NAME...         only these scenarios
#   scripts/e2e/docker.sh --list          list the scenarios
#
# Starts a private dockerd (Debian's /usr/sbin/dockerd, with the containerd
# it starts itself) on its own socket, data root, exec root, pidfile and
# config file in a temporary directory: no bridge (--bridge=none), no
# iptables, the cgroupfs driver, and the containers' cgroups under this
# script's own cgroup (the daemon's --cgroup-parent). It imports a busybox
# image built here (scripts/mkrootfs.sh; no registry needed) and registers
# two runtimes, e2e-runc and e2e-husk: wrappers that log every call the shim
# makes and keep a copy of each config.json (and exec process, update
# resources) before running /usr/sbin/runc or husk.
#
# Each scenario drives the docker CLI twice, once with --runtime e2e-runc and
# once with --runtime e2e-husk, and records what can be seen: output, exit
# codes, docker inspect, cgroup files, and what is left behind after
# `docker rm` (cgroup directories, runtime state, mounts, processes). It
# prints
#   PASS name                          both runs agree, and meet the expectations
#   FAIL name: why                     then indented details: the difference
#                                      from runc, docker's errors, dockerd's
#                                      log, the runtime calls the shim made
# and a last line "N passed, M failed". Exits 1 if any scenario failed.
# A scenario whose runc run does not meet its expectations fails too, marked
# "(runc baseline)": then the test or the machine is wrong, not husk.
#
# Environment:
#   HUSK_BIN          husk binary to test (default: build with `cargo build
#                     --release` and use target/release/husk)
#   HUSK_E2E_KEEP=1   keep the temporary directory (logs in work/, the
#                     config.json copies in configs/, dockerd.log); dockerd
#                     is stopped all the same
#   HUSK_E2E_DEBUG=1  run dockerd with --debug (into dockerd.log)
#   HUSK_E2E_TIMEOUT  seconds one docker command may take (default 60)
#   HUSK_E2E_STORAGE  dockerd's storage driver (default overlay2 when an
#                     overlay mount works in the temporary directory, else vfs)
#
# Needs root (re-runs itself with sudo); installs docker.io, runc, python3
# and busybox-static with apt-get when missing (without letting the package
# start the system's docker service).
# shellcheck disable=SC2016 # the containers' shell code is single-quoted on purpose
set -u
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/e2e/compare.sh
. "$HERE/compare.sh"
IMG=husk-e2e/busybox:latest
CMD_TIMEOUT=${HUSK_E2E_TIMEOUT:-60}
RUNTIMES=(runc husk)

SCENARIOS=(
    run-echo exit-code stdin lifecycle
    memory kernel-memory oom blkio pids read-only user caps no-new-privs ulimit cpus shm-size
    sysctl network-none pid-host init tty
    exec exec-tty top pause update update-pids stop restart kill
    cgroup-parent cgroupns join-ns privileged volume etc-files defaults seccomp
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
# Setup: packages, husk, the image's rootfs.

# Installing docker.io runs its init script's "start" (invoke-rc.d): on a
# machine without a policy-rc.d that would start the system's dockerd, with
# docker0 and iptables rules. A policy that says "no" for the install's time.
if [ "$(dpkg-query -W -f='${Status}' docker.io 2>/dev/null)" != "install ok installed" ] &&
    [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    apt_install_missing docker.io
    rc=$?
    rm -f /usr/sbin/policy-rc.d
    [ "$rc" -eq 0 ] || exit "$rc"
fi
apt_install_missing docker.io containerd runc tini python3 busybox-static
for f in /usr/bin/docker /usr/sbin/dockerd /usr/sbin/runc /usr/bin/containerd /usr/bin/docker-init; do
    [ -x "$f" ] || die "$f is missing"
done
DOCKER=/usr/bin/docker # not /usr/local/bin/docker, whatever PATH says
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

# The containers' cgroups: under this script's own cgroup, never above it.
# On this hybrid host that is the memory cgroup a supervisor gave us; the
# other hierarchies have us at their root. The daemon's --cgroup-parent is
# absolute, so (cgroupfs driver) each container's linux.cgroupsPath is
# $CGP/<id> from the root of every hierarchy.
own_cg=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
[ -n "$own_cg" ] || own_cg=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
own_cg=${own_cg%/}
CGP="$own_cg/husk-e2e-docker-$$"
# A relative cgroup parent (the cgroup-parent scenario): the runtime puts it
# under its own cgroup, in each hierarchy.
CGREL="husk-e2e-docker-rel-$$"
# The cgroup mounts, and the ancestors of CGP that do not exist yet: the
# runtimes create them, the cleanup removes them again.
mapfile -t CG_MOUNTS < <(awk '{
    for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) ~ /^cgroup2?$/) print $5; break }
}' /proc/self/mountinfo | sort -u)
CG_CREATED=()
for m in "${CG_MOUNTS[@]}"; do
    p=""
    IFS=/ read -ra parts <<<"${CGP#/}"
    for part in "${parts[@]}"; do
        p=$p/$part
        [ -d "$m$p" ] || CG_CREATED+=("$m$p")
    done
done
# What dockerd and the shims make outside their directories whatever the
# flags: /run/docker/plugins, /run/containerd/s (the shims' sockets).
HAD_RUN_DOCKER=$([ -e /run/docker ] && echo yes)
HAD_RUN_CONTAINERD=$([ -e /run/containerd ] && echo yes)

T=$(mktemp -d "${TMPDIR:-/tmp}/husk-e2e-docker.XXXXXX") || die "mktemp failed"
chmod 0711 "$T"
W=$T/work
mkdir -p "$T/data" "$T/exec" "$T/wrap" "$T/configs" "$T/client" "$W"
SOCK=$T/docker.sock
DOCKERD_PID=""

# The runtimes as the shim sees them: wrappers that log each call (argv,
# exit status, stderr where that is safe, and on failure the end of the
# runtime's own --log file), keep a copy of config.json (create), of the
# process spec (exec) and of the resources (update), then return the
# runtime's status.
for rt in "${RUNTIMES[@]}"; do
    case $rt in
    runc) real=/usr/sbin/runc ;;
    husk) real=$HUSK_BIN ;;
    esac
    sed -e "s|@NAME@|$rt|g" -e "s|@REAL@|$real|g" -e "s|@LOG@|$T/calls-$rt.log|g" \
        -e "s|@CFG@|$T/configs|g" >"$T/wrap/$rt" <<'EOF'
#!/bin/sh
# @NAME@ as the shim runs it: each call is logged to @LOG@.
log=@LOG@
echo "$$ @NAME@ $*" >>"$log"
# value FLAG ARGS...: the value of FLAG (as "FLAG V" or "FLAG=V").
value() {
    f=$1 prev=""
    shift
    for a in "$@"; do
        case $prev:$a in
        "$f":*) echo "$a"; return ;;
        *:"$f"=*) echo "${a#"$f"=}"; return ;;
        esac
        prev=$a
    done
}
# The runtime's --log file (the shim passes one to every call): its length now.
rtlog=$(value --log "$@")
rtlog_lines=$(cat "$rtlog" 2>/dev/null | wc -l)
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
# The last argument: the container ID.
for id in "$@"; do :; done
case $cmd in
create | run)
    b=$(value --bundle "$@")
    [ -f "$b/config.json" ] && cp "$b/config.json" "@CFG@/@NAME@-$id.json"
    # Here the runtime's stdio is the container's: leave it alone.
    @REAL@ "$@"
    rc=$?
    ;;
exec)
    p=$(value --process "$@")
    [ -n "$p" ] && [ -f "$p" ] && cp "$p" "@CFG@/@NAME@-$id.exec-$$.json"
    @REAL@ "$@"
    rc=$?
    ;;
update)
    r=$(value --resources "$@")
    f="@CFG@/@NAME@-$id.update-$$.json"
    if [ "$r" = - ]; then cat >"$f"; elif [ -f "$r" ]; then cp "$r" "$f"; fi
    echo "    resources: $(cat "$f" 2>/dev/null)" >>"$log"
    err=$(mktemp)
    if [ "$r" = - ]; then @REAL@ "$@" <"$f" 2>"$err"; else @REAL@ "$@" 2>"$err"; fi
    rc=$?
    sed 's/^/    stderr: /' "$err" >>"$log"
    cat "$err" >&2
    rm -f "$err"
    ;;
*)
    # start, kill, delete, pause, ps, ...: the shim often drops their stderr.
    err=$(mktemp)
    @REAL@ "$@" 2>"$err"
    rc=$?
    sed 's/^/    stderr: /' "$err" >>"$log"
    cat "$err" >&2
    rm -f "$err"
    ;;
esac
echo "$$ exit $rc" >>"$log"
if [ "$rc" -ne 0 ] && [ -n "$rtlog" ] && [ -f "$rtlog" ]; then
    # What the runtime wrote to its --log file during this call.
    tail -n +"$((rtlog_lines + 1))" "$rtlog" | tail -n 5 | sed 's/^/    log: /' >>"$log"
fi
exit "$rc"
EOF
    chmod 0755 "$T/wrap/$rt"
    : >"$T/calls-$rt.log"
done

# Storage: overlay2 if an overlay mount works here, else vfs.
STORAGE=${HUSK_E2E_STORAGE:-}
if [ -z "$STORAGE" ]; then
    mkdir -p "$T/ovl/l" "$T/ovl/u" "$T/ovl/w" "$T/ovl/m"
    if mount -t overlay overlay -o "lowerdir=$T/ovl/l,upperdir=$T/ovl/u,workdir=$T/ovl/w" "$T/ovl/m" 2>/dev/null; then
        umount "$T/ovl/m"
        STORAGE=overlay2
    else
        STORAGE=vfs
    fi
    rm -rf "$T/ovl"
fi

# The daemon's own config file, so that /etc/docker/daemon.json (if any)
# plays no part. Runtime names: "runc" is reserved by dockerd.
# deprecated-key-path (no command-line flag): else dockerd writes
# /etc/docker/key.json.
cat >"$T/daemon.json" <<EOF
{
  "deprecated-key-path": "$T/key.json",
  "runtimes": {
    "e2e-runc": { "path": "$T/wrap/runc" },
    "e2e-husk": { "path": "$T/wrap/husk" }
  }
}
EOF

# $T/docker: Debian's docker client on the private daemon (also handy by
# hand with HUSK_E2E_KEEP=1 while the script runs).
cat >"$T/docker" <<EOF
#!/bin/sh
export DOCKER_CONFIG=$T/client
unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
exec $DOCKER -H unix://$SOCK "\$@"
EOF
chmod 0755 "$T/docker"

# The processes of this run: dockerd, its containerd, the shims (their
# command lines name the temp dir).
our_pids() {
    grep -lsF -- "$T/" /proc/[0-9]*/cmdline | cut -d/ -f3 | grep -vx "$$"
}

# running NAME: a process named NAME runs (comm, as the kernel truncates it).
running() {
    grep -qsxF -- "${1:0:15}" /proc/[0-9]*/comm
}

leftover_cgroups() {
    local m
    for m in "${CG_MOUNTS[@]}"; do
        [ -d "$m$CGP" ] && find "$m$CGP" -mindepth 1 -type d 2>/dev/null
        [ -d "$m/$CGREL" ] && find "$m/$CGREL" -type d 2>/dev/null
        [ -d "$m$own_cg/$CGREL" ] && find "$m$own_cg/$CGREL" -type d 2>/dev/null
    done
}

cleanup() {
    local rc=$? id pid d i
    trap - EXIT INT TERM
    if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        for id in $(timeout -k 5 30 "$T/docker" ps -aq --no-trunc 2>/dev/null); do
            timeout -k 5 30 "$T/docker" rm -f "$id" >/dev/null 2>&1
        done
        timeout -k 5 30 "$T/docker" rmi -f "$IMG" >/dev/null 2>&1
        kill -TERM "$DOCKERD_PID" 2>/dev/null
        for i in $(seq 150); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$DOCKERD_PID" 2>/dev/null
        wait "$DOCKERD_PID" 2>/dev/null
    fi
    # Whatever outlived dockerd: its containerd, shims (by pid, ours only).
    for i in 1 2; do
        for pid in $(our_pids); do kill -KILL "$pid" 2>/dev/null; done
        sleep 0.2
    done
    # Container processes left in our cgroups, runtime state, the cgroups.
    for d in $(leftover_cgroups | sort -r); do
        [ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
        [ -f "$d/cgroup.procs" ] && xargs -r kill -KILL <"$d/cgroup.procs" 2>/dev/null
    done
    for d in "$T"/exec/runtime-*/moby/*; do
        [ -d "$d" ] || continue
        id=$(basename "$d")
        "$HUSK_BIN" --root "$(dirname "$d")" delete --force "$id" >/dev/null 2>&1
        /usr/sbin/runc --root "$(dirname "$d")" delete --force "$id" >/dev/null 2>&1
    done
    sleep 0.2
    for d in $(leftover_cgroups | sort -r); do rmdir "$d" 2>/dev/null; done
    for m in "${CG_MOUNTS[@]}"; do
        rmdir "$m$CGP" "$m/$CGREL" "$m$own_cg/$CGREL" 2>/dev/null
    done
    for ((i = ${#CG_CREATED[@]} - 1; i >= 0; i--)); do
        rmdir "${CG_CREATED[i]}" 2>/dev/null
    done
    # Mounts under the temp dir (overlays, shm, netns), deepest first.
    awk -v t="$T" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo |
        sort -r | while read -r d; do umount -l "$d" 2>/dev/null; done
    # (Only when no other dockerd / containerd runs: those may use them.)
    if [ -z "$HAD_RUN_DOCKER" ] && ! running dockerd; then
        rmdir /run/docker/plugins /run/docker 2>/dev/null
    fi
    if [ -z "$HAD_RUN_CONTAINERD" ] && ! running containerd && ! running containerd-shim; then
        rmdir /run/containerd/s /run/containerd 2>/dev/null
    fi
    if [ "${HUSK_E2E_KEEP:-}" = 1 ]; then
        say "kept $T (logs in work/, config.json copies in configs/, dockerd.log)" >&2
    else
        rm -rf --one-file-system "$T"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# dockerd.

debug_flag=""
[ "${HUSK_E2E_DEBUG:-}" = 1 ] && debug_flag="--debug"
# shellcheck disable=SC2086 # debug_flag is empty or one word
setsid env -u DOCKER_HOST -u NOTIFY_SOCKET /usr/sbin/dockerd \
    --config-file "$T/daemon.json" \
    -H "unix://$SOCK" \
    --data-root "$T/data" \
    --exec-root "$T/exec" \
    --pidfile "$T/dockerd.pid" \
    --storage-driver "$STORAGE" \
    --exec-opt native.cgroupdriver=cgroupfs \
    --cgroup-parent "$CGP" \
    --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    --userland-proxy=false \
    --log-level info $debug_flag \
    </dev/null >"$T/dockerd.log" 2>&1 &
DOCKERD_PID=$!
ready=""
for _ in $(seq 300); do
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    if "$T/docker" version --format '{{.Server.Version}}' >/dev/null 2>&1; then
        ready=yes
        break
    fi
    sleep 0.1
done
[ -n "$ready" ] || die "dockerd did not start: $(tail -n 5 "$T/dockerd.log")"

tar -C "$ROOTFS" -c . | "$T/docker" import - "$IMG" >/dev/null 2>"$W/import.log" ||
    die "docker import failed: $(cat "$W/import.log")"

# ---------------------------------------------------------------------------
# Helpers for the scenarios. A scenario runs once per runtime ($RT), in a
# subshell, and writes what it sees to $OBS (compared between runtimes) and
# unmet expectations to $PROB. Every docker command goes to $LOG with its
# stderr and exit status.

RT="" OBS="" PROB="" LOG=""
OUT="" RC=0 ERR=""

# Container IDs in obs: the same placeholder whatever the runtime.
normalize() {
    sed -E 's/[0-9a-f]{64}/<ID>/g; s/(^|[^0-9a-f])[0-9a-f]{12}($|[^0-9a-f])/\1<SHORTID>\2/g; s/\t/ /g' |
        sed "s|$T|<T>|g; s|$CGP|<CGP>|g; s|$own_cg/|<OWN>/|g"
}

# with_runtime ARGS...: ARGS with "--runtime e2e-$RT" after run / create.
with_runtime() {
    ARGS=("$@")
    case "${1:-}" in
    run | create) ARGS=("$1" --runtime "e2e-$RT" "${@:2}") ;;
    esac
}

# dk ARGS...: docker on the private daemon with the pass's runtime; stdout
# is the command's, stderr goes to the log.
dk() {
    with_runtime "$@"
    printf '$ docker %s\n' "$(quote_args "${ARGS[@]}")" >>"$LOG"
    timeout -k 10 "$CMD_TIMEOUT" "$T/docker" "${ARGS[@]}" 2>>"$LOG"
    local rc=$?
    [ "$rc" -ne 0 ] && printf '  (exit %d)\n' "$rc" >>"$LOG"
    [ "$rc" -eq 124 ] && printf '  (timed out after %ss)\n' "$CMD_TIMEOUT" >>"$LOG"
    return "$rc"
}

# step KEY ARGS...: dk ARGS, then record its stdout as KEY and its exit
# status as KEY.rc; both are left in OUT and RC.
step() {
    local key=$1
    shift
    OUT=$(dk "$@")
    RC=$?
    obs "$key" "$OUT"
    obs "$key.rc" "$RC"
}

# capture ARGS...: docker ARGS with stdout in OUT, stderr in ERR (both also
# logged), exit status in RC: for commands whose stderr is the container's.
capture() {
    local errf=$W/stderr.$$
    with_runtime "$@"
    printf '$ docker %s\n' "$(quote_args "${ARGS[@]}")" >>"$LOG"
    OUT=$(timeout -k 10 "$CMD_TIMEOUT" "$T/docker" "${ARGS[@]}" 2>"$errf")
    RC=$?
    ERR=$(cat "$errf")
    sed 's/^/  stderr: /' "$errf" >>"$LOG"
    [ "$RC" -ne 0 ] && printf '  (exit %d)\n' "$RC" >>"$LOG"
    rm -f "$errf"
}

# step_err KEY ARGS...: for a command that must fail in the runtime: records
# its exit status, its stdout if it succeeded, and which of the phrases the
# docker CLI looks for in the daemon's error (to exit 127 or 126) it shows;
# the error text itself (the runtime's own words, which need not be runc's
# beyond those phrases; on stdout for docker exec) only goes to the log.
step_err() {
    local key=$1 p found=""
    shift
    capture "$@"
    [ "$RC" -eq 0 ] && obs "$key" "$OUT"
    obs "$key.rc" "$RC"
    [ "$RC" -ne 0 ] && printf '%s\n' "$OUT" | sed 's/^/  stdout: /' >>"$LOG"
    for p in "executable file not found" "no such file or directory" "permission denied"; do
        case "$ERR $OUT" in *"$p"*) found="${found:+$found, }$p" ;; esac
    done
    obs "$key.cli-phrases" "${found:-none}"
}

# pty_run KEY INPUT ARGS...: docker ARGS on a pseudo-terminal, typing INPUT
# at the shell prompt; OUT is what appeared on the terminal, RC the exit.
pty_run() {
    local key=$1 input=$2
    shift 2
    with_runtime "$@"
    printf '$ docker %s   (on a pty, typing %s)\n' "$(quote_args "${ARGS[@]}")" "$(quote "$input")" >>"$LOG"
    local all
    all=$("$PYTHON" "$HERE/podman/ptyrun.py" "$CMD_TIMEOUT" '# ' "$input" \
        "$T/docker" "${ARGS[@]}" 2>&1)
    printf '%s\n' "$all" | sed 's/^/  tty: /' >>"$LOG"
    RC=$(printf '%s\n' "$all" | tail -n 1 | sed 's/^exit=//')
    OUT=$(printf '%s\n' "$all" | sed '$d')
    obs "$key.rc" "$RC"
}

# wait_log NAME TEXT: wait up to 10 s for TEXT in the container's log.
wait_log() {
    for _ in $(seq 100); do
        dk logs "$1" 2>/dev/null | grep -qxF -- "$2" && return 0
        sleep 0.1
    done
    return 1
}

# host_pid NAME: the container's init as the host sees it ("" if none).
host_pid() {
    local pid
    pid=$(dk inspect -f '{{.State.Pid}}' "$1") || return 0
    [ "${pid:-0}" -gt 0 ] 2>/dev/null && echo "$pid"
}

# cg_read PID WHAT: one of PID's cgroup settings as the host sees it, in
# the same form on cgroup v1 (and hybrid) and v2 hosts:
#   memory  the memory limit in bytes ("max" if none)
#   memsw   memory + swap limit in bytes (v2: memory.max + memory.swap.max)
#   pids    pids.max
#   cpu     "QUOTA PERIOD" ("max PERIOD" if no quota)
#   shares  cpu.shares (v2: cpu.weight)
#   cpuset  cpuset.cpus (v2: cpuset.cpus)
#   freezer FROZEN or THAWED
cg_read() {
    local pid=$1 what=$2 ctl v1 v2
    [ "$pid" != 0 ] && [ -r "/proc/$pid/cgroup" ] || return 0
    case $what in
    memory | memsw) ctl=memory ;;
    pids | cpu | freezer | cpuset) ctl=$what ;;
    shares) ctl=cpu ;;
    *) return 1 ;;
    esac
    v1=$(awk -F: -v c="$ctl" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$pid/cgroup")
    if [ -n "$v1" ]; then
        v1=/sys/fs/cgroup/$ctl$v1
        case $what in
        memory) sed 's/^9223372036854771712$/max/' "$v1/memory.limit_in_bytes" ;;
        memsw) sed 's/^9223372036854771712$/max/' "$v1/memory.memsw.limit_in_bytes" ;;
        pids) cat "$v1/pids.max" ;;
        cpu) echo "$(sed 's/^-1$/max/' "$v1/cpu.cfs_quota_us") $(cat "$v1/cpu.cfs_period_us")" ;;
        shares) cat "$v1/cpu.shares" ;;
        cpuset) cat "$v1/cpuset.cpus" ;;
        freezer) cat "$v1/freezer.state" ;;
        esac
    else
        v2=/sys/fs/cgroup
        [ "$(stat -fc %T $v2)" = cgroup2fs ] || v2=/sys/fs/cgroup/unified
        v2=$v2$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
        case $what in
        memory) cat "$v2/memory.max" ;;
        memsw) echo "$(cat "$v2/memory.max") + $(cat "$v2/memory.swap.max")" ;;
        pids) cat "$v2/pids.max" ;;
        cpu) cat "$v2/cpu.max" ;;
        shares) cat "$v2/cpu.weight" ;;
        cpuset) cat "$v2/cpuset.cpus" ;;
        freezer) sed 's/^1$/FROZEN/; s/^0$/THAWED/' "$v2/cgroup.freeze" ;;
        esac
    fi 2>/dev/null
}

# In the container: its own cgroup files, on v1 or v2. (Without /dev/null:
# that is the defaults scenario's business.)
IN_MEMORY='f=/sys/fs/cgroup/memory/memory.limit_in_bytes; [ -e $f ] || f=/sys/fs/cgroup/memory.max; cat $f'
IN_MEMSW='f=/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes; [ -e $f ] || f=/sys/fs/cgroup/memory.swap.max; cat $f'
IN_PIDS='f=/sys/fs/cgroup/pids/pids.max; [ -e $f ] || f=/sys/fs/cgroup/pids.max; cat $f'
IN_CPU='if [ -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us); else cat /sys/fs/cgroup/cpu.max; fi'

# The IDs of the containers a runtime was asked to create, from the calls
# log (all of them, or those after line $2).
ids_of() {
    tail -n +"$((${2:-0} + 1))" "$T/calls-$1.log" |
        awk '{ for (i = 3; i <= NF; i++) if ($i == "create" || $i == "run") { print $NF; break } }' |
        grep -E '^[0-9a-f]{64}$' | sort -u
}

# leftovers RUNTIME ID...: what is left of these containers on the host.
leftovers() {
    local rt=$1 id
    shift
    for id in "$@"; do
        find /sys/fs/cgroup -maxdepth 8 -type d -name "*$id*" 2>/dev/null | sed "s|^/sys/fs/cgroup/|cgroup |"
        find "$T"/exec/runtime-*/moby -maxdepth 1 -name "$id" 2>/dev/null | sed 's/^/state /'
        [ -e "/run/$rt/$id" ] && echo "state /run/$rt/$id"
        grep -F -- "$id" /proc/self/mountinfo | awk '{ print "mount " $5 }'
        # (a pattern that does not match its own grep's command line)
        grep -lsE -- "${id:0:1}[${id:1:1}]${id:2}" /proc/[0-9]*/cmdline | cut -d/ -f3 | while read -r pid; do
            echo "process $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60)"
        done
    done
    # Mounts under the temp dir that were not there at the start (the
    # containers' overlays are named after layers, not container IDs), but
    # the host's network namespace, which libnetwork keeps at exec-root/
    # netns/default from the first --network host on.
    awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort |
        comm -13 "$W/mounts.base" - | grep -vxF "$T/exec/netns/default" | sed 's/^/mount /'
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
    local N=e2e-exit
    step exit3 run --rm "$IMG" sh -c 'exit 3'
    check "sh -c 'exit 3': exit" "$RC" 3
    step false run --rm "$IMG" false
    check "false: exit" "$RC" 1
    # The CLI maps the daemon's error text (the runtime's, through the shim)
    # to 127 / 126, and so does dockerd for State.ExitCode.
    step_err notfound run --name $N-nf "$IMG" /no/such/program
    check "missing program: exit" "$RC" 127
    step state-nf inspect -f '{{.State.Status}} {{.State.ExitCode}}' $N-nf
    check "missing program: State" "$OUT" "created 127"
    step_err notonpath run --name $N-np "$IMG" no-such-command
    check "command not on PATH: exit" "$RC" 127
    step state-np inspect -f '{{.State.Status}} {{.State.ExitCode}}' $N-np
    check "command not on PATH: State" "$OUT" "created 127"
    step_err noexec run --name $N-nx "$IMG" /etc/passwd
    check "not executable: exit" "$RC" 126
    step state-nx inspect -f '{{.State.Status}} {{.State.ExitCode}}' $N-nx
    check "not executable: State" "$OUT" "created 126"
    step_err dir run --rm "$IMG" /etc
    check "a directory: exit" "$RC" 126
}

s_stdin() {
    with_runtime run -i --rm "$IMG" sh -c 'wc -l; echo done'
    printf '$ printf "line1\\nline2\\n" | docker %s\n' "$(quote_args "${ARGS[@]}")" >>"$LOG"
    OUT=$(printf 'line1\nline2\n' | timeout -k 10 "$CMD_TIMEOUT" "$T/docker" "${ARGS[@]}" 2>>"$LOG")
    RC=$?
    obs out "$OUT"
    obs rc "$RC"
    check "run -i with piped stdin: output" "$(echo "$OUT" | tr '\n' ' ')" "2 done "
    check "run -i: exit" "$RC" 0
}

s_lifecycle() {
    local N=e2e-lifecycle pid
    step create create --name $N "$IMG" sh -c 'echo out1; echo err1 >&2; exec sleep 60'
    step status-created inspect -f '{{.State.Status}}' $N
    check "status after create" "$OUT" created
    step start start $N
    check "start" "$OUT" $N
    step status inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Paused}} {{.State.ExitCode}}' $N
    check "status while running" "$OUT" "running true false 0"
    pid=$(host_pid $N)
    check "State.Pid > 0" "${pid:+yes}" yes
    obs host-comm "$(cat "/proc/${pid:-0}/comm" 2>/dev/null)"
    wait_log $N out1
    step2 logs logs $N
    check "logs: stdout" "$OUT" out1
    check "logs: stderr" "$ERR" err1
    # Where the runtime put the init: linux.cgroupsPath is $CGP/<id>.
    obs host-cgroups "$(sort -t: -k2 "/proc/${pid:-0}/cgroup" 2>/dev/null | cut -d: -f2-)"
    local line
    line=$(grep -E '^[0-9]+:memory:' "/proc/${pid:-0}/cgroup" 2>/dev/null)
    check_match "the init's memory cgroup" "$line" "*:$CGP/*"
    step ps ps --format '{{.Names}} {{.Status}}'
    check_match "ps while running" "$OUT" "$N Up*"
    step rm-running rm $N
    obs rm-running.failed "$([ "$RC" -ne 0 ] && echo yes)"
    step wait-exited run --name $N-w "$IMG" sh -c 'exit 2'
    step wait wait $N-w
    check "wait on an exited container" "$OUT" 2
    step rm-f rm -f $N
    check "rm -f of a running container" "$OUT" $N
    [ -n "$pid" ] && obs "init gone after rm -f" "$([ -e "/proc/$pid" ] && echo no || echo yes)"
}

s_memory() {
    local N=e2e-memory pid
    step inside run --rm -m 64m --memory-swap 96m "$IMG" sh -c "$IN_MEMORY; $IN_MEMSW"
    check "memory and memory+swap limits inside" "$OUT" "67108864"$'\n'"100663296"
    step run run -d --name $N -m 64m "$IMG" sleep 60
    step hostconfig inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}' $N
    check "HostConfig.Memory MemorySwap" "$OUT" "67108864 134217728"
    pid=$(host_pid $N)
    OUT="$(cg_read "${pid:-0}" memory) $(cg_read "${pid:-0}" memsw)"
    obs host-limits "$OUT"
    check "memory, memory+swap limits on the host" "$OUT" "67108864 134217728"
    OUT=$(dk stats --no-stream --format '{{.MemUsage}}' $N | sed 's|.*/ *||')
    obs stats-limit "$OUT"
    check "stats: memory limit" "$OUT" 64MiB
    step reservation run --rm --memory-reservation 32m --oom-kill-disable -m 64m "$IMG" sh -c \
        'cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes; grep oom_kill_disable /sys/fs/cgroup/memory/memory.oom_control'
    check "--memory-reservation 32m --oom-kill-disable" "$OUT" "33554432"$'\n'"oom_kill_disable 1"
    step swappiness run --rm --memory-swappiness 10 "$IMG" cat /sys/fs/cgroup/memory/memory.swappiness
    check "--memory-swappiness 10" "$OUT" 10
}

# --kernel-memory: docker (deprecated, with a warning) passes
# linux.resources.memory.kernel; runc 1.1 ignores it with a warning, and
# so does husk (at create and at update; this kernel's
# memory.kmem.limit_in_bytes would accept a write and enforce nothing).
s_kernel_memory() {
    local N=e2e-kernel-memory
    step2 run run --rm --kernel-memory 64m "$IMG" echo ran
    check "--kernel-memory 64m: runs" "$OUT" ran
    step run-d run -d --name $N --kernel-memory 64m -m 128m "$IMG" sleep 60
    step status inspect -f '{{.State.Status}} {{.HostConfig.KernelMemory}}' $N
    check "status of a --kernel-memory container" "$OUT" "running 67108864"
}

s_blkio() {
    local dev
    dev=$(awk '$2 == "/" { print $1 }' /proc/self/mounts | head -n 1)
    [ -b "$dev" ] || dev=$(findmnt -no SOURCE / 2>/dev/null)
    obs "a block device for the root" "$([ -b "$dev" ] && echo yes)"
    [ -b "$dev" ] || return 0
    local mm
    mm=$(printf '%d:%d' "0x$(stat -c %t "$dev")" "0x$(stat -c %T "$dev")")
    step out run --rm --device-read-bps "$dev:1mb" --device-write-iops "$dev:100" "$IMG" sh -c \
        'cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device'
    check "blkio throttle files" "$OUT" "$mm 1048576"$'\n'"$mm 100"
}

s_cgroupns() {
    # (Without /sys/fs/cgroup/unified: on a v1 host husk adds the
    # container's cgroup2 view there on purpose, runc does not.)
    step private run --rm --cgroupns private "$IMG" sh -c 'cat /proc/self/cgroup; ls /sys/fs/cgroup | grep -vx unified | sort | tr "\n" " "'
    check "--cgroupns private: every path /" "$(echo "$OUT" | grep -c ':/$')" "$(echo "$OUT" | grep -c '^[0-9]')"
    step host run --rm --cgroupns host "$IMG" sh -c 'grep memory /proc/self/cgroup'
    check_match "--cgroupns host: the memory cgroup" "$OUT" "*:memory:$CGP/*"
}

s_oom() {
    local N=e2e-oom
    step run run --name $N -m 32m --memory-swap 32m "$IMG" sh -c 'exec tail /dev/zero'
    check "exit status of an OOM-killed container" "$RC" 137
    step state inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}' $N
    check "State: status, exit code, OOMKilled" "$OUT" "exited 137 true"
}

s_pids() {
    local N=e2e-pids pid
    step2 inside run --rm --pids-limit 20 "$IMG" sh -c \
        "$IN_PIDS"'; p="sleep 3"; i=1; while [ $i -lt 30 ]; do p="$p | sleep 3"; i=$((i+1)); done; eval "$p"; echo not-limited'
    # 30 processes in one pipeline; ash gives up at the first fork that fails.
    check "pids.max inside, then no more forks" "$OUT" 20
    check_match "fork error" "$ERR" "*can't fork*"
    check "exit status of sh after a failed fork" "$RC" 2
    step run run -d --name $N --pids-limit 20 "$IMG" sleep 60
    pid=$(host_pid $N)
    OUT=$(cg_read "${pid:-0}" pids)
    obs host-pids-max "$OUT"
    check "pids.max on the host" "$OUT" 20
    step hostconfig inspect -f '{{.HostConfig.PidsLimit}}' $N
    check "HostConfig.PidsLimit" "$OUT" 20
}

# docker's --read-only: the root only (no tmpfs on /tmp, unlike podman).
s_read_only() {
    step out run --rm --read-only "$IMG" sh -c '
        touch /x 2>&1; echo "rc=$?"
        touch /tmp/x 2>&1; echo "tmp rc=$?"
        touch /dev/shm/x && echo shm-writable
        grep " / " /proc/mounts | cut -d" " -f4 | cut -d, -f1'
    check "read-only root" "$OUT" "touch: /x: Read-only file system"$'\n'"rc=1"$'\n'"touch: /tmp/x: Read-only file system"$'\n'"tmp rc=1"$'\n'"shm-writable"$'\n'"ro"
    step tmpfs run --rm --read-only --tmpfs /tmp "$IMG" sh -c 'touch /tmp/x && echo tmp-writable'
    check "--read-only --tmpfs /tmp" "$OUT" tmp-writable
}

s_user() {
    local N=e2e-user
    step out run --rm -u 1000:1000 "$IMG" sh -c 'id; grep -E "^(Uid|Gid|Groups|CapEff):" /proc/self/status'
    check_match "id" "$(echo "$OUT" | head -n 1)" "uid=1000(demo) gid=1000(demo)*"
    check "CapEff of a non-root user" "$(echo "$OUT" | awk '$1 == "CapEff:" { print $2 }')" 0000000000000000
    step name run --rm -u nobody "$IMG" id
    check_match "-u nobody" "$OUT" "uid=65534(nobody) gid=65534(nogroup)*"
    step groups run --rm -u 1000 --group-add 5 "$IMG" id
    check_match "-u 1000 --group-add 5" "$OUT" "uid=1000(demo) gid=1000(demo) groups=5(tty),1000(demo)"
    step run-d run -d --name $N -u 1000:1000 "$IMG" sleep 60
    step status inspect -f '{{.State.Status}}' $N
    check "status of a detached -u 1000:1000 container" "$OUT" running
    step exec-id exec $N id
    check_match "exec in a -u 1000:1000 container" "$OUT" "uid=1000(demo) gid=1000(demo)*"
}

capf() { echo "$OUT" | awk -v k="$1:" '$1 == k { print $2 }'; }

s_caps() {
    step default run --rm "$IMG" grep Cap /proc/self/status
    check "CapEff (docker's default set)" "$(capf CapEff)" 00000000a80425fb
    check "CapBnd (docker's default set)" "$(capf CapBnd)" 00000000a80425fb
    step drop-all run --rm --cap-drop ALL --cap-add NET_RAW "$IMG" grep Cap /proc/self/status
    check "CapEff (drop ALL, add NET_RAW)" "$(capf CapEff)" 0000000000002000
    check "CapBnd (drop ALL, add NET_RAW)" "$(capf CapBnd)" 0000000000002000
    step add run --rm --cap-add SYS_ADMIN --cap-drop CHOWN "$IMG" grep Cap /proc/self/status
    check "CapEff (add SYS_ADMIN, drop CHOWN)" "$(capf CapEff)" 00000000a82425fa
    step chown run --rm --cap-drop CHOWN "$IMG" sh -c 'chown 1000 /tmp 2>&1; echo "rc=$?"'
    check "chown without CAP_CHOWN" "$OUT" "chown: /tmp: Operation not permitted"$'\n'"rc=1"
}

s_no_new_privs() {
    step default run --rm "$IMG" grep NoNewPrivs /proc/self/status
    check "NoNewPrivs (default)" "$OUT" "NoNewPrivs:"$'\t'"0"
    step nnp run --rm --security-opt no-new-privileges "$IMG" grep NoNewPrivs /proc/self/status
    check "NoNewPrivs (--security-opt no-new-privileges)" "$OUT" "NoNewPrivs:"$'\t'"1"
    step nnp-user run --rm -u 1000 --security-opt no-new-privileges:true "$IMG" grep NoNewPrivs /proc/self/status
    check "NoNewPrivs (-u 1000, no-new-privileges:true)" "$OUT" "NoNewPrivs:"$'\t'"1"
}

s_ulimit() {
    local N=e2e-ulimit
    step default run --rm "$IMG" sh -c 'echo $(ulimit -Sn) $(ulimit -Hn)'
    step set run --rm --ulimit nofile=1024:2048 --ulimit nproc=500:600 --ulimit core=0 "$IMG" \
        sh -c 'echo $(ulimit -Sn) $(ulimit -Hn) $(ulimit -Su) $(ulimit -Hu) $(ulimit -c)'
    check "ulimit -Sn -Hn -Su -Hu -c" "$OUT" "1024 2048 500 600 0"
    step run run -d --name $N --ulimit nofile=1024:2048 "$IMG" sleep 60
    step exec exec $N sh -c 'echo $(ulimit -Sn) $(ulimit -Hn)'
    check "ulimits of an exec" "$OUT" "1024 2048"
    step oom-score-adj run --rm --oom-score-adj 500 "$IMG" cat /proc/self/oom_score_adj
    check "--oom-score-adj 500" "$OUT" 500
}

s_cpus() {
    local N=e2e-cpus pid
    step inside run --rm --cpus 0.5 "$IMG" sh -c "$IN_CPU"
    check "cpu quota and period inside" "$OUT" "50000 100000"
    step run run -d --name $N --cpus 0.5 --cpu-shares 512 --cpuset-cpus 0 "$IMG" sleep 60
    pid=$(host_pid $N)
    OUT=$(cg_read "${pid:-0}" cpu)
    obs host-cpu "$OUT"
    check "cpu.cfs_quota_us, cpu.cfs_period_us on the host" "$OUT" "50000 100000"
    OUT=$(cg_read "${pid:-0}" shares)
    obs host-shares "$OUT"
    check "cpu.shares on the host" "$OUT" 512
    OUT=$(cg_read "${pid:-0}" cpuset)
    obs host-cpuset "$OUT"
    check "cpuset.cpus on the host" "$OUT" 0
    step hostconfig inspect -f '{{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.CpusetCpus}}' $N
}

s_shm_size() {
    step default run --rm "$IMG" sh -c 'grep " /dev/shm " /proc/mounts | cut -d" " -f1-4'
    check_match "/dev/shm by default" "$OUT" "shm /dev/shm tmpfs *size=65536k*"
    step sized run --rm --shm-size 16m "$IMG" sh -c 'grep " /dev/shm " /proc/mounts | cut -d" " -f1-4; head -c 1000000 /dev/zero >/dev/shm/f && echo wrote'
    check_match "/dev/shm with --shm-size 16m" "$OUT" "shm /dev/shm tmpfs *size=16384k*"$'\n'"wrote"
}

s_sysctl() {
    step out run --rm --network none --sysctl kernel.shmmax=1048576 --sysctl net.ipv4.ip_unprivileged_port_start=80 \
        --sysctl kernel.msgmax=4096 "$IMG" \
        sh -c 'cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/msgmax'
    check "sysctls inside" "$OUT" "1048576"$'\n'"80"$'\n'"4096"
    local host
    host=$(cat /proc/sys/kernel/shmmax)
    obs "host's kernel.shmmax unchanged" "$([ "$host" != 1048576 ] && echo yes)"
}

s_network_none() {
    step none run --rm --network none "$IMG" sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
    check "interfaces (--network none)" "$OUT" lo
    # This dockerd runs with --bridge=none: the default network has only lo too.
    step default run --rm "$IMG" sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
    check "interfaces (default network, --bridge=none)" "$OUT" lo
    local got want
    got=$(dk run --rm --network none "$IMG" readlink /proc/self/ns/net)
    want=$(readlink /proc/self/ns/net)
    obs "own network namespace" "$([ -n "$got" ] && [ "$got" != "$want" ] && echo yes)"
    check "a network namespace of its own" "$([ -n "$got" ] && [ "$got" != "$want" ] && echo yes)" yes
    step host run --rm --network host "$IMG" readlink /proc/self/ns/net
    check "--network host: the host's namespace" "$OUT" "$want"
}

s_pid_host() {
    local want
    want=$(readlink /proc/self/ns/pid)
    step ns run --rm --pid host "$IMG" readlink /proc/self/ns/pid
    check "--pid host: the host's pid namespace" "$OUT" "$want"
    step init run --rm --pid host "$IMG" sh -c 'cat /proc/1/comm; [ -d /proc/'"$$"' ] && echo sees-host-pids'
    check "--pid host: pid 1, the host's processes" "$OUT" "$(cat /proc/1/comm)"$'\n'"sees-host-pids"
    step private run --rm "$IMG" sh -c 'echo $$; readlink /proc/self/ns/pid | grep -qvxF "'"$want"'" && echo own-ns'
    check "default: pid 1 in its own namespace" "$OUT" "1"$'\n'"own-ns"
}

# --init: docker bind-mounts docker-init (tini) as /sbin/docker-init, pid 1.
# Namespaces of the host and of another container (linux.namespaces[].path).
s_join_ns() {
    local N=e2e-join-ns pid t ns got want
    step run run -d --name $N --hostname joined --ipc shareable "$IMG" sleep 60
    pid=$(host_pid $N)
    for t in net pid ipc; do
        got=$(dk run --rm --"$t" container:$N "$IMG" readlink /proc/self/ns/$t)
        want=$(readlink "/proc/${pid:-0}/ns/$t")
        obs "--$t container:N joins" "$([ -n "$got" ] && [ "$got" = "$want" ] && echo yes || echo "no ($got, want $want)")"
        check "--$t container:N: the container's $t namespace" "$got" "$want"
    done
    step pid-1 run --rm --pid container:$N "$IMG" sh -c 'tr "\0" " " </proc/1/cmdline'
    check "--pid container:N: pid 1" "$OUT" "sleep 60 "
    for t in ipc uts; do
        ns=$(readlink "/proc/self/ns/$t")
        got=$(dk run --rm --"$t" host "$IMG" readlink /proc/self/ns/$t)
        obs "--$t host" "$([ "$got" = "$ns" ] && echo yes || echo "no ($got, want $ns)")"
        check "--$t host: the host's $t namespace" "$got" "$ns"
    done
    step uts-hostname run --rm --uts host "$IMG" hostname
    check "--uts host: hostname" "$OUT" "$(hostname)"
}

s_init() {
    step out run --rm --init "$IMG" sh -c 'tr "\0" " " </proc/1/cmdline; echo; exit 6'
    check "pid 1 with --init" "$OUT" "/sbin/docker-init -- sh -c tr \"\\0\" \" \" </proc/1/cmdline; echo; exit 6 "
    check "exit status through the init" "$RC" 6
    local N=e2e-init
    step run run -d --init --name $N "$IMG" sleep 60
    step stop stop -t 5 $N
    step state inspect -f '{{.State.ExitCode}}' $N
    check "exit code after stop (tini forwards TERM)" "$OUT" 143
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
    step t run --rm -t "$IMG" sh -c 'tty; echo x'
    check "run -t (no -i, not a terminal here)" "$(echo "$OUT" | tr -d '\r')" "/dev/pts/0"$'\n'"x"
}

s_exec() {
    local N=e2e-exec
    step run run -d --name $N "$IMG" sleep 60
    step exec exec $N sh -c 'echo in-exec $((1+2)); exit 4'
    check "exec: output" "$OUT" "in-exec 3"
    check "exec: exit" "$RC" 4
    step exec-init exec $N sh -c 'tr "\0" " " </proc/1/cmdline'
    check "exec sees the container's pid 1" "$OUT" "sleep 60 "
    step exec-user exec -u 1000:1000 $N sh -c 'id; grep CapEff /proc/self/status'
    check_match "exec -u 1000:1000" "$OUT" "uid=1000(demo) gid=1000(demo)*CapEff:"$'\t'"0000000000000000"
    step exec-user-name exec -u nobody $N id
    check_match "exec -u nobody" "$OUT" "uid=65534(nobody) gid=65534(nogroup)*"
    step exec-env exec -e X=1 -w /tmp $N sh -c 'echo "$X $(pwd)"'
    check "exec -e X=1 -w /tmp" "$OUT" "1 /tmp"
    with_runtime exec -i $N sh -c 'wc -l'
    OUT=$(printf 'a\nb\nc\n' | timeout -k 10 "$CMD_TIMEOUT" "$T/docker" "${ARGS[@]}" 2>>"$LOG")
    obs exec-i "$OUT"
    check "exec -i with piped stdin" "$OUT" 3
    step exec-d exec -d $N sleep 30
    check "exec -d: exit" "$RC" 0
    step ps-after-exec-d exec $N sh -c 'ps -o args | grep -c "^sleep 30"'
    check "the exec -d process runs" "$OUT" 1
    step_err exec-privileged exec --privileged $N sh -c 'grep CapEff /proc/self/status'
    step_err exec-missing exec $N /no/such/program
    check "exec of a missing program: exit" "$RC" 126
    step_err exec-notonpath exec $N no-such-command
    check "exec of a command not on PATH: exit" "$RC" 126
    step exec-after exec $N echo alive
    check "exec after failed execs" "$OUT" alive
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

s_top() {
    local N=e2e-top
    step run run -d --name $N "$IMG" sleep 60
    # docker top: the shim asks the runtime for the pids (`ps --format json`),
    # then dockerd runs the host's ps and keeps those.
    OUT=$(dk top $N | awk 'NR > 1 { print $1, $NF }')
    obs top "$OUT"
    check "top: user, cmd" "$OUT" "root 60"
    step exec-d exec -d $N sleep 30
    OUT=$(dk top $N -o pid,args | tail -n +2 | sed -E 's/^ *[0-9]+ +//' | sort)
    obs top-args "$OUT"
    check "top -o pid,args with an exec -d" "$OUT" "sleep 30"$'\n'"sleep 60"
    step stats stats --no-stream --format '{{.Name}} {{.PIDs}}' $N
    check "stats --no-stream: pids" "$OUT" "$N 2"
    step stopped-kill kill $N
    step top-stopped top $N
    obs top-stopped.failed "$([ "$RC" -ne 0 ] && echo yes)"
}

s_pause() {
    local N=e2e-pause pid state
    step run run -d --name $N "$IMG" sleep 60
    pid=$(host_pid $N)
    step pause pause $N
    check "pause" "$OUT" $N
    step status-paused inspect -f '{{.State.Status}} {{.State.Paused}} {{.State.Running}}' $N
    check "status after pause" "$OUT" "paused true true"
    state=$(cg_read "${pid:-0}" freezer)
    obs freezer-paused "$state"
    check "host freezer state after pause" "$state" FROZEN
    OUT=$(dk ps --format '{{.Names}} {{.Status}}' | sed -E 's/ Up .*\(Paused\)/ Up (Paused)/')
    obs ps-paused "$OUT"
    check "ps while paused" "$OUT" "$N Up (Paused)"
    step_err exec-paused exec $N true
    obs exec-paused.failed "$([ "$RC" -ne 0 ] && echo yes)"
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
    step stop-paused stop -t 1 $N
    step status-stopped inspect -f '{{.State.Status}} {{.State.ExitCode}}' $N
    obs stop-paused.status "$OUT"
    step run2 run -d --name $N-2 "$IMG" sleep 60
    step pause3 pause $N-2
    step rm-paused rm -f $N-2
    check "rm -f of a paused container" "$OUT" $N-2
}

# docker update: the shim runs the runtime's `update --resources -`.
s_update() {
    local N=e2e-update pid
    step run run -d --name $N -m 32m --memory-swap 64m "$IMG" sleep 60
    pid=$(host_pid $N)
    step update update --memory 64m --memory-swap 128m $N
    check "update --memory 64m --memory-swap 128m: exit" "$RC" 0
    OUT="$(cg_read "${pid:-0}" memory) $(cg_read "${pid:-0}" memsw)"
    obs host-memory "$OUT"
    check "memory, memory+swap limits on the host after update" "$OUT" "67108864 134217728"
    step inside exec $N sh -c "$IN_MEMORY; $IN_MEMSW"
    check "memory limits inside after update" "$OUT" "67108864"$'\n'"134217728"
    step hostconfig inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}' $N
    check "HostConfig after update" "$OUT" "67108864 134217728"
    step update-cpus update --cpus 0.5 $N
    check "update --cpus 0.5: exit" "$RC" 0
    OUT=$(cg_read "${pid:-0}" cpu)
    obs host-cpu "$OUT"
    check "cpu quota and period on the host after update" "$OUT" "50000 100000"
    step alive exec $N echo alive
    check "exec after update" "$OUT" alive
}

s_update_pids() {
    local N=e2e-update-pids pid
    step run run -d --name $N --pids-limit 20 "$IMG" sleep 60
    pid=$(host_pid $N)
    step update update --pids-limit 50 $N
    check "update --pids-limit 50: exit" "$RC" 0
    OUT=$(cg_read "${pid:-0}" pids)
    obs host-pids-max "$OUT"
    check "pids.max on the host after update" "$OUT" 50
    step update-restart update --restart on-failure:3 $N
    check "update --restart (no resources): exit" "$RC" 0
}

s_stop() {
    local N=e2e-stop pid t0 t1 waited
    step run run -d --name $N "$IMG" sleep 60
    pid=$(host_pid $N)
    # sleep is pid 1 in its namespace, so SIGTERM does nothing: dockerd
    # sends SIGKILL after the 2 s timeout.
    t0=$(date +%s%N)
    step stop stop -t 2 $N
    t1=$(date +%s%N)
    check "stop -t 2" "$OUT" $N
    waited=$(((t1 - t0) / 1000000))
    obs "stop took 2-10 s" "$([ $waited -ge 1900 ] && [ $waited -lt 10000 ] && echo yes || echo "no (${waited} ms)")"
    step after inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Pid}}' $N
    check "after stop: status exitcode pid" "$OUT" "exited 137 0"
    [ -n "$pid" ] && obs "init gone after stop" "$([ -e "/proc/$pid" ] && echo no || echo yes)"
    step rm rm $N
    step run2 run -d --name $N "$IMG" sh -c 'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.1; done'
    wait_log $N ready
    t0=$(date +%s%N)
    step stop2 stop -t 10 $N
    t1=$(date +%s%N)
    waited=$(((t1 - t0) / 1000000))
    obs "stop of a TERM-handling container took < 5 s" "$([ $waited -lt 5000 ] && echo yes || echo "no (${waited} ms)")"
    step after2 inspect -f '{{.State.Status}} {{.State.ExitCode}}' $N
    check "after stop of a TERM-handling container" "$OUT" "exited 0"
    step logs logs $N
    check "logs" "$OUT" "ready"$'\n'"got-term"
    step rm2 rm $N
    step run3 run -d --name $N --stop-signal USR1 "$IMG" sh -c 'trap "exit 10" USR1; while :; do sleep 0.1; done'
    step stop3 stop -t 10 $N
    step after3 inspect -f '{{.State.ExitCode}}' $N
    check "--stop-signal USR1" "$OUT" 10
    step start-again start $N
    step status-again inspect -f '{{.State.Status}}' $N
    check "start of a stopped container" "$OUT" running
}

s_restart() {
    local N=e2e-restart pid1 pid2 count
    step run run -d --name $N "$IMG" sh -c 'echo started; exec sleep 60'
    wait_log $N started
    pid1=$(host_pid $N)
    step restart restart -t 0 $N
    check "restart" "$OUT" $N
    step status inspect -f '{{.State.Status}} {{.RestartCount}}' $N
    check "status after restart" "$OUT" "running 0"
    pid2=$(host_pid $N)
    obs "a new init" "$([ -n "$pid2" ] && [ "$pid1" != "$pid2" ] && echo yes)"
    for _ in $(seq 50); do
        [ "$(dk logs $N 2>/dev/null | grep -c started)" = 2 ] && break
        sleep 0.1
    done
    step logs logs $N
    check "logs after restart" "$OUT" "started"$'\n'"started"
    step exec exec $N echo alive
    check "exec after restart" "$OUT" alive
    # A restart policy: dockerd starts it again (create, start) by itself.
    step run2 run -d --name $N-p --restart on-failure:2 "$IMG" sh -c 'echo once; exit 1'
    for _ in $(seq 150); do
        count=$(dk inspect -f '{{.State.Status}} {{.RestartCount}}' $N-p)
        [ "$count" = "exited 2" ] && break
        sleep 0.1
    done
    step policy inspect -f '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}' $N-p
    check "--restart on-failure:2: status, restarts, exit code" "$OUT" "exited 2 1"
    step logs-policy logs $N-p
    check "logs of a container restarted twice" "$OUT" "once"$'\n'"once"$'\n'"once"
}

s_kill() {
    local N=e2e-kill
    step run run -d --name $N "$IMG" sh -c 'trap "echo got-term; exit 5" TERM; trap "echo got-hup" HUP; echo ready; while :; do sleep 0.1; done'
    wait_log $N ready
    step kill-hup kill -s HUP $N
    check "kill -s HUP" "$OUT" $N
    wait_log $N got-hup
    step kill-term kill -s TERM $N
    check "kill -s TERM" "$OUT" $N
    step wait wait $N
    check "exit code after TERM (trap exits 5)" "$OUT" 5
    step logs logs $N
    check "logs after HUP, TERM" "$OUT" "ready"$'\n'"got-hup"$'\n'"got-term"
    step rm rm $N
    step run2 run -d --name $N "$IMG" sleep 60
    step kill-default kill $N
    step wait2 wait $N
    check "exit code after kill (default SIGKILL)" "$OUT" 137
    step state inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}' $N
    check "State after kill" "$OUT" "exited 137 false"
    step kill-stopped kill $N
    obs kill-stopped.failed "$([ "$RC" -ne 0 ] && echo yes)"
    step rm2 rm $N
    # A child of the init survives kill of pid 1? (No: the pid namespace goes.)
    step run3 run -d --name $N "$IMG" sh -c 'sleep 60 & exec sleep 61'
    step kill3 kill -s KILL $N
    step wait3 wait $N
    check "exit code after kill -s KILL" "$OUT" 137
}

# A container's own --cgroup-parent: relative (the runtime resolves it
# under its own cgroup, i.e. the shim's, in each hierarchy) and absolute.
s_cgroup_parent() {
    local N=e2e-cgroup-parent pid line
    step rel run -d --name $N-rel --cgroup-parent "$CGREL" -m 64m "$IMG" sleep 60
    pid=$(host_pid $N-rel)
    OUT=$(sort -t: -k2 "/proc/${pid:-0}/cgroup" 2>/dev/null | cut -d: -f2-)
    obs host-cgroups-rel "$OUT"
    line=$(grep -E '^[0-9]+:memory:' "/proc/${pid:-0}/cgroup" 2>/dev/null | cut -d: -f3)
    check_match "memory cgroup (relative parent)" "$line" "$own_cg/$CGREL/*"
    OUT=$(cg_read "${pid:-0}" memory)
    check "memory limit (relative parent)" "$OUT" 67108864
    step rm-rel rm -f $N-rel
    step abs run -d --name $N-abs --cgroup-parent "$CGP/abs" "$IMG" sleep 60
    pid=$(host_pid $N-abs)
    OUT=$(sort -t: -k2 "/proc/${pid:-0}/cgroup" 2>/dev/null | cut -d: -f2-)
    obs host-cgroups-abs "$OUT"
    line=$(grep -E '^[0-9]+:memory:' "/proc/${pid:-0}/cgroup" 2>/dev/null | cut -d: -f3)
    check_match "memory cgroup (absolute parent)" "$line" "$CGP/abs/*"
    step rm-abs rm -f $N-abs
    # The parents are the daemon's to make and nobody's to remove: here.
    local m
    for m in "${CG_MOUNTS[@]}"; do
        rmdir "$m$CGP/abs" "$m/$CGREL" "$m$own_cg/$CGREL" 2>/dev/null
    done
    return 0
}

# --privileged asks for every capability: on a machine whose bounding set
# lacks one (this one has no CAP_SYS_RESOURCE), runc refuses ("unable to
# apply caps"), and husk must refuse too. Elsewhere: what it looks like.
s_privileged() {
    local bnd full
    bnd=$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)
    full=$(printf '%016x' $(((1 << ($(cat /proc/sys/kernel/cap_last_cap) + 1)) - 1)))
    obs "this machine has every capability" "$([ "$bnd" = "$full" ] && echo yes || echo no)"
    if [ "$bnd" = "$full" ]; then
        step status run --rm --privileged "$IMG" sh -c 'grep -E "^(Cap|NoNewPrivs|Seccomp:)" /proc/self/status'
        check "Seccomp (privileged)" "$(capf Seccomp)" 0
        check "CapEff (privileged)" "$(capf CapEff)" "$full"
        step inside run --rm --privileged "$IMG" sh -c '
            grep " /sys " /proc/mounts | cut -d" " -f4 | cut -d, -f1
            mkdir /m && mount -t tmpfs none /m && echo mounted
            [ -c /dev/kmsg ] && echo has-kmsg'
        check "privileged: /sys rw, mount works, host devices" "$OUT" "rw"$'\n'"mounted"$'\n'"has-kmsg"
    else
        step_err refused run --rm --privileged "$IMG" true
        check "--privileged without every capability: refused" "$RC" 125
    fi
    step systempaths run --rm --security-opt systempaths=unconfined "$IMG" sh -c \
        'stat -c %F /proc/timer_list; grep -c " /proc/sys " /proc/mounts'
    check_match "systempaths=unconfined: /proc/timer_list not masked, /proc/sys not read-only" "$OUT" "regular*file"$'\n'"0"
    if [ -c /dev/fuse ]; then
        step device run --rm --device /dev/fuse "$IMG" sh -c 'stat -c "%F %t:%T" /dev/fuse; : </dev/fuse && echo opened'
        check "--device /dev/fuse" "$OUT" "character special file a:e5"$'\n'"opened"
    fi
    step device-rw run --rm --device /dev/null:/dev/mynull:r "$IMG" sh -c 'stat -c "%t:%T" /dev/mynull; echo x >/dev/mynull 2>&1; echo "rc=$?"'
}

s_volume() {
    local dir=$W/volume-$RT
    mkdir -p "$dir"
    echo hello-from-host >"$dir/in.txt"
    step out run --rm -v "$dir:/data" -v "$dir:/ro:ro" "$IMG" sh -c \
        'cat /data/in.txt; echo from-container >/data/out.txt; touch /ro/y 2>&1; echo "rc=$?"'
    check "bind volume" "$OUT" "hello-from-host"$'\n'"touch: /ro/y: Read-only file system"$'\n'"rc=1"
    OUT=$(cat "$dir/out.txt" 2>/dev/null)
    obs host-sees "$OUT"
    check "file written in the container, seen on the host" "$OUT" from-container
    step named run --rm -v husk-e2e-vol:/v "$IMG" sh -c 'echo kept >/v/f'
    step named2 run --rm -v husk-e2e-vol:/v:ro "$IMG" cat /v/f
    check "named volume, second container" "$OUT" kept
    step vol-rm volume rm husk-e2e-vol
    step tmpfs run --rm --tmpfs /scratch:size=1m,mode=0700 "$IMG" sh -c \
        'grep " /scratch " /proc/mounts | cut -d" " -f1-4; stat -c %a /scratch'
    check_match "--tmpfs /scratch:size=1m,mode=0700" "$OUT" "tmpfs /scratch tmpfs *size=1024k*"$'\n'"700"
    step mount run --rm --mount "type=bind,src=$dir,dst=/b,readonly" "$IMG" sh -c 'cat /b/in.txt; grep " /b " /proc/mounts | cut -d" " -f4 | cut -d, -f1'
    check "--mount type=bind,readonly" "$OUT" "hello-from-host"$'\n'"ro"
}

s_etc_files() {
    step out run --rm --hostname h1 --add-host foo.example:192.0.2.1 -e FOO=bar -w /tmp "$IMG" sh -c '
        hostname; cat /etc/hostname; grep foo.example /etc/hosts
        echo "$FOO $(pwd)"; [ -f /etc/resolv.conf ] && echo has-resolv
        awk "\$2 ~ /^\/etc\// { print \$2, \$4 }" /proc/self/mounts | cut -d, -f1 | sort'
    check "hostname, /etc files, env, workdir" "$(echo "$OUT" | head -n 5)" \
        "h1"$'\n'"h1"$'\n'"192.0.2.1"$'\t'"foo.example"$'\n'"bar /tmp"$'\n'"has-resolv"
    step env run --rm "$IMG" env
    obs env-sorted "$(echo "$OUT" | sort)"
}

# What a plain container looks like from inside.
s_defaults() {
    step out run --rm "$IMG" sh -c '
        echo "## id"; id
        echo "## status"; grep -E "^(Cap|NoNewPrivs|Seccomp:)" /proc/self/status
        echo "## umask"; umask
        echo "## ulimits"; ulimit -n; ulimit -u
        echo "## cwd"; pwd
        echo "## /dev"; for f in /dev/*; do stat -c "%N %A %U:%G %t:%T" $f; done
        # /sys/fs/cgroup differs on purpose: on a v1 host husk makes the
        # tmpfs there read-only (runc leaves it writable) and adds the
        # container'"'"'s own cgroup2 view at /sys/fs/cgroup/unified.
        echo "## mounts (sorted)"; awk "{ print \$2, \$3, \$4 }" /proc/self/mounts | grep -v "^/sys/fs/cgroup" | sed "s/,lowerdir=.*//" | sort
        echo "## cgroup"; cat /proc/self/cgroup
        echo "## masked"; stat -c %F /proc/timer_list /proc/keys; ls /sys/firmware | wc -l
        echo "## readonly paths"; touch /proc/sys/kernel/domainname 2>&1; echo 1 >/proc/sysrq-trigger 2>&1
        echo "## devices"; echo x >/dev/null && echo "write /dev/null: ok"; head -c 4 /dev/urandom | wc -c
        echo "## oom_score_adj"; cat /proc/self/oom_score_adj
        true
    '
    check "exit" "$RC" 0
    check "write /dev/null" "$(echo "$OUT" | grep -c '^write /dev/null: ok$')" 1
}

# Docker's default seccomp profile (every scenario runs with it), and none.
s_seccomp() {
    step default run --rm "$IMG" grep -E '^Seccomp' /proc/self/status
    check "Seccomp (default profile)" "$(echo "$OUT" | awk '$1 == "Seccomp:" { print $2 }')" 2
    step blocked run --rm "$IMG" sh -c 'unshare -U true 2>&1; echo "rc=$?"'
    step unconfined run --rm --security-opt seccomp=unconfined "$IMG" grep -E '^Seccomp' /proc/self/status
    check "Seccomp (unconfined)" "$(echo "$OUT" | awk '$1 == "Seccomp:" { print $2 }')" 0
}

# ---------------------------------------------------------------------------
# Runner.

awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort >"$W/mounts.base"

run_pass() {
    local name=$1
    RT=$2
    OBS=$W/$name.$RT.obs PROB=$W/$name.$RT.prob LOG=$W/$name.$RT.log
    : >"$OBS"
    : >"$PROB"
    : >"$LOG"
    local mark dmark
    mark=$(wc -l <"$T/calls-$RT.log")
    dmark=$(wc -l <"$T/dockerd.log")
    echo "=== $name" >>"$T/calls-$RT.log"
    ("s_${name//-/_}")
    local rc=$?
    [ "$rc" -ne 0 ] && echo "the scenario's script failed (exit $rc)" >>"$PROB"
    # Remove what is left, then look for what the runtime left behind.
    local id
    for id in $(dk ps -aq); do
        dk rm -f "$id" >/dev/null
    done
    local -a ids
    mapfile -t ids < <(ids_of "$RT" "$mark")
    local left=""
    for _ in $(seq 50); do
        left=$(leftovers "$RT" "${ids[@]}" | sed "s|$T|<T>|g" | sort -u)
        [ -z "$left" ] && break
        sleep 0.1
    done
    obs "left behind after rm" "${left:-nothing}"
    [ -n "$left" ] && printf 'left behind after docker rm: %s\n' "$(echo "$left" | tr '\n' ' ' | normalize)" >>"$PROB"
    # The calls the shim made, and dockerd's complaints, for the report.
    tail -n +"$((mark + 2))" "$T/calls-$RT.log" | sed -E "s|$T|<T>|g" >"$W/$name.$RT.calls"
    tail -n +"$((dmark + 1))" "$T/dockerd.log" | grep -E 'level=(error|warning|fatal)' |
        sed -E "s|$T|<T>|g" >"$W/$name.$RT.dockerd"
}

passed=0
failed=0
failed_names=()
start=$SECONDS
selected=("$@")
[ "${#selected[@]}" -gt 0 ] || selected=("${SCENARIOS[@]}")
say "docker e2e: dockerd $("$T/docker" version --format '{{.Server.Version}}'), storage $STORAGE, cgroup parent $CGP"

for name in "${selected[@]}"; do
    t_scenario=$SECONDS
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
    took="($((SECONDS - t_scenario))s)"
    if [ -z "$reason" ]; then
        say "PASS $name $took"
        passed=$((passed + 1))
        continue
    fi
    say "FAIL $name $took: $reason"
    failed=$((failed + 1))
    failed_names+=("$name")
    details "$b.husk.prob" "husk's unmet expectations:" 20
    details "$b.runc.prob" "runc's unmet expectations (the test or the machine is wrong):" 20
    diff -U0 "$b.runc.obs" "$b.husk.obs" | tail -n +3 | grep -v '^@@' >"$b.diff"
    details "$b.diff" "observations (- runc, + husk):" 40
    grep -E '^\$ |Error|error|\(exit|\(timed|stderr: ' "$b.husk.log" |
        sed -E "s|$T|<T>|g" >"$b.husk.errs"
    details "$b.husk.errs" "docker commands with husk (stderr, exit status):" 60
    details "$b.husk.dockerd" "dockerd's errors and warnings during the husk pass:" 10
    grep -B3 -A6 -E '^[0-9]+ exit [1-9]' "$b.husk.calls" >"$b.husk.failed-calls"
    details "$b.husk.failed-calls" "husk calls that failed (argv, stderr, exit, husk's --log):" 40
done

say ""
say "docker e2e (husk vs runc): $((SECONDS - start))s; failed: ${failed_names[*]:-none}"
say "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
