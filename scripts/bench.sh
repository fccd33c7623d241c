#!/usr/bin/env bash
# Benchmarks: husk against runc and crun (and a C "floor"), run by hand.
# Not a test: nothing here passes or fails on a number.
#
#   ./scripts/bench.sh
#
# Builds husk (cargo build --release), the busybox rootfs (mkrootfs.sh) and
# two small C helpers (scripts/bench/floor.c, scripts/bench/cg2ns.c), makes
# bundles from bundles/busybox/config.json in a temp dir, and measures:
#   (a) `run` of `true`                         husk, runc, crun, floor
#   (b) create + start + state until stopped + delete        (cycle.sh)
#   (c) N containers in sequence, each timed                 (seq.sh)
#   (d) M containers alive at once (run --detach of sleep), then deleted
#   (e) `state` of a running container
#   (f) `run` of `true` like for like: all runtimes on a cgroup v2 view
#       (inside cg2ns), each making its cgroup
# plus per-step timings from `husk --debug run`, a probe of what a v1
# cgroup.procs write costs here, peak RSS and binary sizes. Each workload
# runs unpinned and pinned to one CPU (taskset -c 0). The results (hyperfine
# JSON, raw samples, logs and results.md) stay in a temp dir; the tables are
# printed at the end.
#
# crun refuses hybrid cgroup hosts, so every crun command runs inside
# cg2ns (a private mount namespace with cgroup2 mounted over /sys/fs/cgroup)
# with --cgroup-manager=disabled: crun then does no cgroup work at all.
#
# Environment (defaults in brackets):
#   HUSK_BENCH_RUNS        hyperfine runs per command in (a), (b); twice that in (e) [40]
#   HUSK_BENCH_WARMUP      hyperfine warmup runs [5]
#   HUSK_BENCH_SEQ         containers in sequence in (c) [500]
#   HUSK_BENCH_ALIVE       containers alive at once in (d) [50]
#   HUSK_BENCH_ALIVE_RUNS  hyperfine runs of each phase of (d) [5]
#   HUSK_BENCH_STEP_RUNS   `husk --debug run` calls for the step table, back to
#                          back and again HUSK_BENCH_STEP_GAP seconds apart [20]
#   HUSK_BENCH_STEP_GAP    [0.3]
#   HUSK_BENCH_MODES       "unpinned pinned", or one of them
#   HUSK_BENCH_ONLY        a subset of "a b c d e f steps probe rss" [all]
#
# Runs as root (re-runs itself with sudo); installs runc, crun, hyperfine,
# time and jq with apt-get when missing.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

no_args_but_help "$@"

reexec_as_root "$0" "$@"
cd "$REPO_ROOT"

RUNS=${HUSK_BENCH_RUNS:-40}
WARMUP=${HUSK_BENCH_WARMUP:-5}
SEQ=${HUSK_BENCH_SEQ:-500}
ALIVE=${HUSK_BENCH_ALIVE:-50}
ALIVE_RUNS=${HUSK_BENCH_ALIVE_RUNS:-5}
STEP_RUNS=${HUSK_BENCH_STEP_RUNS:-20}
STEP_GAP=${HUSK_BENCH_STEP_GAP:-0.3}
MODES=${HUSK_BENCH_MODES:-unpinned pinned}
ONLY=${HUSK_BENCH_ONLY:-a b c d e f steps probe rss}
RUNTIMES=(husk runc crun)

case $REPO_ROOT in *[[:space:]]*) die "the repository path must not contain spaces: $REPO_ROOT" ;; esac
for m in $MODES; do
    case $m in unpinned | pinned) ;; *) die "HUSK_BENCH_MODES: unpinned and/or pinned, not '$m'" ;; esac
done
wanted() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

heading() { printf '\n=== %s ===\n' "$*"; }

# ---------------------------------------------------------------------------
heading "Prerequisites and build"
apt_install_missing runc crun hyperfine time jq
have cc || apt_install_missing build-essential
have taskset || apt_install_missing util-linux
have cargo || die "cargo is not installed (see https://rustup.rs)"
cargo build --release
chown_back_to_invoker target
scripts/mkrootfs.sh

T=$(mktemp -d /tmp/husk-bench.XXXXXX)
R=$T/results
mkdir -p "$R" "$T/bin" "$T/state/husk" "$T/state/runc" "$T/state/crun"
# A copy: a concurrent `cargo build` cannot swap the binary mid-run.
cp target/release/husk "$T/bin/husk"
cc -O2 -Wall -o "$T/bin/floor" scripts/bench/floor.c
cc -O2 -Wall -o "$T/bin/cg2ns" scripts/bench/cg2ns.c
B=$REPO_ROOT/scripts/bench
ROOTFS=$REPO_ROOT/bundles/busybox/rootfs
# Container IDs carry our PID: other jobs on this machine may run husk or
# runc with short IDs, and a container's v1 cgroup is named after its ID.
TAG=hb$$

# The busybox bundle with other args and an absolute root.path. ociVersion
# 1.0.2: crun 1.8.1 rejects "1.2.0" ("unknown version specified"); runc
# 1.1.5 speaks 1.0.2 and husk accepts 1.0.0 through 1.3.x. Nothing else in
# the config is newer than 1.0.
mkbundle() {
    mkdir -p "$T/$1"
    jq --arg root "$ROOTFS" --argjson args "$2" \
        '.ociVersion = "1.0.2" | .process.args = $args | .root.path = $root' \
        bundles/busybox/config.json >"$T/$1/config.json"
}
mkbundle true '["true"]'
mkbundle sleep '["sleep", "30"]'
mkbundle long '["sleep", "3600"]'

# Per runtime: WRAP runs first (crun's namespace), CMD is the runtime with
# its global flags. For scripts, the whole script goes inside WRAP.
declare -A WRAP CMD LETTER
WRAP[husk]="" WRAP[runc]="" WRAP[crun]="$T/bin/cg2ns"
CMD[husk]="$T/bin/husk --root $T/state/husk"
CMD[runc]="$(command -v runc) --root $T/state/runc"
CMD[crun]="$(command -v crun) --cgroup-manager=disabled --root $T/state/crun"
LETTER[husk]=h LETTER[runc]=r LETTER[crun]=c
# crun state/list need no cgroups: they run without the wrapper.
CRUN_PLAIN="$(command -v crun) --root $T/state/crun"
wrapped() { local w=${WRAP[$1]}; printf '%s' "${w:+$w }${CMD[$1]}"; }
inwrap() { local w=${WRAP[$1]}; printf '%s' "${w:+$w }"; }

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    local rt id
    for rt in "${RUNTIMES[@]}"; do
        local list=${CMD[$rt]}
        [ "$rt" = crun ] && list=$CRUN_PLAIN
        for id in $($list list -q 2>/dev/null); do
            # shellcheck disable=SC2046
            $(wrapped "$rt") delete --force "$id" >/dev/null 2>&1 || true
        done
    done
    rm -rf "${T:?}/state" "${T:?}/bin" "${T:?}/true" "${T:?}/sleep" "${T:?}/long"
}
trap cleanup EXIT

load_now() { cut -d' ' -f1-3 /proc/loadavg; }
load_note() {
    local l1
    l1=$(cut -d' ' -f1 /proc/loadavg)
    say "load average: $(load_now) ($(nproc) CPUs)$1" | tee -a "$R/load.txt"
    if awk -v l="$l1" -v n="$(nproc)" 'BEGIN { exit !(l > 0.25 * n) }'; then
        say "NOTE: the load is high, other jobs are running; timings are noisier. Busiest (%CPU over each process's life):" | tee -a "$R/load.txt"
        ps -eo pcpu=,comm= --sort=-pcpu | awk '$2 != "ps"' | sed -n '1,4p' | sed 's/^/    /' | tee -a "$R/load.txt"
    fi
}

# hf NAME RUNS WARMUP [hyperfine args...]: hyperfine without a shell, pinned
# or not, results in $R/NAME.json.
hf() {
    local name=$1 runs=$2 warmup=$3
    shift 3
    "${PIN[@]}" hyperfine -N --style none --runs "$runs" --warmup "$warmup" \
        --export-json "$R/$name.json" "$@"
}

# table_hf FILE: markdown rows from a hyperfine export: mean ± σ, median,
# min (ms) and the ratios to runc and crun (of the means, and of the medians
# in brackets).
table_hf() {
    say "| command | mean ± σ (ms) | median (ms) | min (ms) | ÷ runc | ÷ crun |"
    say "|---|---|---|---|---|---|"
    jq -r '
        (.results | map({key: .command, value: .}) | from_entries) as $by
        | .results[]
        | [.command, .mean, .stddev, .median, .min,
           ($by.runc.mean // 0), ($by.runc.median // 0),
           ($by.crun.mean // 0), ($by.crun.median // 0)] | @tsv' "$1" |
        awk -F'\t' '
            function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
            { printf "| %s | %.1f ± %.1f | %.1f | %.1f | %s (%s) | %s (%s) |\n",
                $1, $2 * 1000, $3 * 1000, $4 * 1000, $5 * 1000,
                r($2, $6), r($4, $7), r($2, $8), r($4, $9) }'
}

# merge OUT IN...: several hyperfine exports into one.
merge() {
    local out=$1
    shift
    jq -s '{results: map(.results[])}' "$@" >"$out"
}

add_report() { cat >>"$R/results.md"; }

{
    say "# husk benchmark results"
    say
    say "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    say "- kernel: $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
    say "- cgroups: $(stat -f -c %T /sys/fs/cgroup) at /sys/fs/cgroup$(
        [ -d /sys/fs/cgroup/unified ] && [ "$(stat -f -c %T /sys/fs/cgroup/unified)" = cgroup2fs ] &&
            printf ', cgroup2 at /sys/fs/cgroup/unified: hybrid')"
    say "- $("$T/bin/husk" --version | awk '/^husk/ { v = $0 } /^commit/ { c = $2 } END { print v " (commit " c ")" }'), $(runc --version | head -1), $(crun --version | head -1), $(hyperfine --version)"
    say "- load average at the start: $(load_now)"
    say "- crun: every crun command runs in a private mount namespace with cgroup2 mounted over"
    say "  /sys/fs/cgroup (scripts/bench/cg2ns.c), with --cgroup-manager=disabled: no cgroup work."
    say "  husk and runc make and join v1 cgroups on every create. The row \"cg2ns alone\" is what the"
    say "  wrapper itself costs (it execs /bin/true)."
} >"$R/results.md"
heading "Setup"
cat "$R/results.md"
say "results go to $R"
load_note ""

# ---------------------------------------------------------------------------
# The probe: what does moving a process into a v1 cgroup cost here? The
# first write to a cgroup.procs takes cgroup_threadgroup_rwsem for writing,
# which waits for an RCU grace period; writes right after it are cheap.
probe() {
    heading "Probe: moving a process into v1 cgroups"
    local dirs=() h d pid t0 t1 out=()
    for h in cpu memory pids freezer; do
        [ -f "/sys/fs/cgroup/$h/cgroup.procs" ] || continue
        d=/sys/fs/cgroup/$h/$TAG-probe
        mkdir -p "$d"
        dirs+=("$d")
    done
    [ "${#dirs[@]}" -gt 0 ] || { say "no v1 hierarchies: skipped"; return 0; }
    local round
    for round in 1 2 3 4 5; do
        sleep 60 &
        pid=$!
        sleep 0.2 # let any earlier writer's RCU state expire
        local line="round $round:"
        for d in "${dirs[@]}"; do
            t0=${EPOCHREALTIME/./}
            echo "$pid" >"$d/cgroup.procs" # a builtin: no fork in the timing
            t1=${EPOCHREALTIME/./}
            line+=" ${d#/sys/fs/cgroup/}=$((t1 - t0))us"
            out+=("$round $((t1 - t0))")
        done
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        say "$line" | sed "s|/$TAG-probe||g" | tee -a "$R/probe.txt"
    done
    for d in "${dirs[@]}"; do rmdir "$d"; done
    {
        say
        say "### Moving a process into v1 cgroups (probe)"
        say
        say "A fresh \`sleep\` written into \`cgroup.procs\` of one cgroup in each of ${#dirs[@]} v1 hierarchies in turn, timed"
        say "around the shell's builtin echo (µs):"
        say
        say '```'
        sed "s|/$TAG-probe||g" "$R/probe.txt"
        say '```'
    } | add_report
}

# ---------------------------------------------------------------------------
# (a) run of true
bench_run() {
    heading "(a) run of true, $MODE"
    local args=() rt
    for rt in "${RUNTIMES[@]}"; do
        args+=(-n "$rt" "$(wrapped "$rt") run --bundle $T/true $TAG-${LETTER[$rt]}a")
    done
    args+=(-n floor "$T/bin/floor $ROOTFS")
    args+=(-n "cg2ns alone" "$T/bin/cg2ns /bin/true")
    hf "$MODE-a-run" "$RUNS" "$WARMUP" "${args[@]}"
    {
        say
        say "### (a) \`run\` of \`true\`, $MODE"
        say
        table_hf "$R/$MODE-a-run.json"
    } | add_report
}

# (f) like for like: every runtime in one cg2ns, each making its cgroup
bench_like() {
    heading "(f) run of true, like for like on a cgroup v2 view, $MODE"
    # hyperfine itself runs inside cg2ns, so no row pays for the wrapper.
    # husk sees a unified host there and takes its v2 path (one cgroup,
    # clone3 into it); runc and crun make their cgroup with cgroupfs.
    local args=()
    args+=(-n husk "${CMD[husk]} run --bundle $T/true $TAG-hf")
    args+=(-n runc "${CMD[runc]} run --bundle $T/true $TAG-rf")
    args+=(-n crun "$CRUN_PLAIN --cgroup-manager=cgroupfs run --bundle $T/true $TAG-cf")
    args+=(-n "crun, no cgroup" "${CMD[crun]} run --bundle $T/true $TAG-cg")
    args+=(-n floor "$T/bin/floor $ROOTFS")
    "${PIN[@]}" "$T/bin/cg2ns" hyperfine -N --style none --runs "$RUNS" --warmup "$WARMUP" \
        --export-json "$R/$MODE-f-like.json" "${args[@]}"
    {
        say
        say "### (f) \`run\` of \`true\`, like for like on a cgroup v2 view, $MODE"
        say
        say "hyperfine and all three runtimes inside one cg2ns (cgroup2 over /sys/fs/cgroup, which holds only"
        say "the controllers this host gives cgroup2). Each runtime makes one cgroup and runs the"
        say "container in it: husk with clone3(CLONE_INTO_CGROUP), runc and crun with their cgroupfs"
        say "managers. No row pays for the wrapper. \"crun, no cgroup\" is crun as in (a)."
        say
        table_hf "$R/$MODE-f-like.json"
    } | add_report
}

# (b) create + start + state until stopped + delete
bench_cycle() {
    heading "(b) create + start + wait + delete, $MODE"
    local args=() rt
    for rt in "${RUNTIMES[@]}"; do
        : >"$R/$MODE-b-polls-$rt.txt"
        args+=(-n "$rt" "$(inwrap "$rt")/bin/sh $B/cycle.sh $TAG-${LETTER[$rt]}b $T/true $R/$MODE-b-polls-$rt.txt ${CMD[$rt]}")
    done
    hf "$MODE-b-cycle" "$RUNS" "$WARMUP" "${args[@]}"
    {
        say
        say "### (b) create + start + \`state\` until stopped + delete, $MODE"
        say
        table_hf "$R/$MODE-b-cycle.json"
        say
        printf 'state calls per cycle (mean):'
        for rt in "${RUNTIMES[@]}"; do
            awk -v rt="$rt" '{ s += $1 } END { printf " %s %.2f", rt, NR ? s / NR : 0 }' "$R/$MODE-b-polls-$rt.txt"
        done
        say
    } | add_report
}

# (c) N containers in sequence
bench_seq() {
    heading "(c) $SEQ containers in sequence, $MODE"
    local rt t0 t1
    for rt in "${RUNTIMES[@]}"; do
        t0=${EPOCHREALTIME/./}
        # shellcheck disable=SC2046,SC2086
        "${PIN[@]}" $(inwrap "$rt") "$B/seq.sh" "$SEQ" "$R/$MODE-c-seq-$rt.txt" "$T/true" "$TAG-${LETTER[$rt]}c" ${CMD[$rt]}
        t1=${EPOCHREALTIME/./}
        echo $((t1 - t0)) >"$R/$MODE-c-total-$rt.txt"
        say "$rt: $(awk '{ printf "%.2f s\n", $1 / 1e6 }' "$R/$MODE-c-total-$rt.txt")"
    done
    local block=100
    [ "$SEQ" -ge 100 ] || block=$SEQ
    {
        say
        say "### (c) $SEQ \`run\`s of \`true\` in sequence, $MODE"
        say
        say "Times per container in ms; blocks are the means of containers 1–$block, $((block + 1))–$((2 * block)), ..."
        say
        say "| runtime | total (s) | mean | median | #1 | #100 | #$SEQ | block means | ÷ runc | ÷ crun |"
        say "|---|---|---|---|---|---|---|---|---|---|"
        local m_runc m_crun
        m_runc=$(awk '{ s += $1 } END { print s / NR }' "$R/$MODE-c-seq-runc.txt")
        m_crun=$(awk '{ s += $1 } END { print s / NR }' "$R/$MODE-c-seq-crun.txt")
        for rt in "${RUNTIMES[@]}"; do
            sort -n "$R/$MODE-c-seq-$rt.txt" >"$R/$MODE-c-sorted-$rt.txt"
            awk -v rt="$rt" -v block="$block" -v mr="$m_runc" -v mc="$m_crun" \
                -v total="$(cat "$R/$MODE-c-total-$rt.txt")" \
                -v median="$(awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }' "$R/$MODE-c-sorted-$rt.txt")" '
                { v[NR] = $1; s += $1; b += $1
                  if (NR % block == 0) { blocks = blocks sprintf("%s%.1f", blocks == "" ? "" : " ", b / block / 1000); b = 0 } }
                END {
                    m = s / NR
                    printf "| %s | %.2f | %.1f | %.1f | %.1f | %.1f | %.1f | %s | %.2f | %.2f |\n",
                        rt, total / 1e6, m / 1000, median / 1000, v[1] / 1000,
                        (NR >= 100 ? v[100] : v[NR]) / 1000, v[NR] / 1000, blocks, m / mr, m / mc
                }' "$R/$MODE-c-seq-$rt.txt"
        done
    } | add_report
}

# (d) M containers alive at once, then all deleted
bench_alive() {
    heading "(d) $ALIVE containers alive at once, $MODE"
    local rt a up=() down=()
    for rt in "${RUNTIMES[@]}"; do
        a="$(inwrap "$rt")/bin/sh $B/alive.sh"
        local rest="$ALIVE $TAG-${LETTER[$rt]}d $T/sleep ${CMD[$rt]}"
        # Start phase: each timed run starts from none alive; the cleanup
        # leaves none alive for the next runtime.
        hf "$MODE-d-up-$rt" "$ALIVE_RUNS" 0 --prepare "$a clean $rest" --cleanup "$a clean $rest" \
            -n "$rt" "$a up $rest"
        # Delete phase: each timed run deletes what its prepare started.
        hf "$MODE-d-down-$rt" "$ALIVE_RUNS" 0 --prepare "$a up $rest" -n "$rt" "$a down $rest"
        up+=("$R/$MODE-d-up-$rt.json")
        down+=("$R/$MODE-d-down-$rt.json")
        say "$rt: done"
    done
    merge "$R/$MODE-d-up.json" "${up[@]}"
    merge "$R/$MODE-d-down.json" "${down[@]}"
    {
        say
        say "### (d) $ALIVE containers (\`sleep 30\`) alive at once, $MODE"
        say
        say "Start: $ALIVE \`run --detach\` one after the other. Delete: $ALIVE \`delete --force\`. Whole phase, in ms"
        say "(per container: divide by $ALIVE)."
        say
        say "Start phase:"
        say
        table_hf "$R/$MODE-d-up.json"
        say
        say "Delete phase:"
        say
        table_hf "$R/$MODE-d-down.json"
    } | add_report
}

# (e) state of a running container
bench_state() {
    heading "(e) state of a running container, $MODE"
    local rt args=()
    for rt in "${RUNTIMES[@]}"; do
        # shellcheck disable=SC2046
        $(wrapped "$rt") run --detach --bundle "$T/long" "$TAG-${LETTER[$rt]}e" </dev/null >/dev/null 2>&1
    done
    args+=(-n husk "${CMD[husk]} state $TAG-he")
    args+=(-n runc "${CMD[runc]} state $TAG-re")
    args+=(-n crun "$CRUN_PLAIN state $TAG-ce")
    hf "$MODE-e-state" "$((RUNS * 2))" "$WARMUP" "${args[@]}"
    for rt in "${RUNTIMES[@]}"; do
        # shellcheck disable=SC2046
        $(wrapped "$rt") delete --force "$TAG-${LETTER[$rt]}e" >/dev/null
    done
    {
        say
        say "### (e) \`state\` of a running container, $MODE"
        say
        say "(crun state runs without the cg2ns wrapper: it needs no cgroups.)"
        say
        table_hf "$R/$MODE-e-state.json"
    } | add_report
}

# Per-step timings from husk --debug run.
bench_steps() {
    heading "husk --debug run: per-step timings, $MODE"
    local d=$R/$MODE-steps i t0 t1 set gap
    mkdir -p "$d"
    : >"$d/steps.tsv"
    # Two sets: back to back (like the hyperfine runs), and $STEP_GAP s apart
    # (an isolated create, as a real caller mostly makes them).
    for set in b2b gap; do
        gap=0
        [ "$set" = gap ] && gap=$STEP_GAP
        for ((i = 1; i <= STEP_RUNS; i++)); do
            sleep "$gap"
            t0=${EPOCHREALTIME/./}
            # shellcheck disable=SC2086
            "${PIN[@]}" ${CMD[husk]} --debug --log "$d/$set-$i.log" run --bundle "$T/true" "$TAG-s$i"
            t1=${EPOCHREALTIME/./}
            # One TSV row per (set, run, step): set, run, order of first
            # appearance, name, summed µs, calls. Log lines look like
            #   TIME debug step NAME done step=NAME what=... us=N
            # TIME is UTC, as EPOCHREALTIME; both become µs since midnight.
            # Besides the steps: the wall time, the time before the first
            # step, the parent's time outside steps before the clone, and the
            # time after the init's last step (its execve, `true`, exit, the
            # reaping and delete).
            awk -v set="$set" -v run="$i" -v t0="$t0" -v t1="$t1" '
                function us_of_day(ts,   t) {
                    t = substr(ts, index(ts, "T") + 1); sub(/Z$/, "", t)
                    return (substr(t, 1, 2) * 3600 + substr(t, 4, 2) * 60) * 1e6 + substr(t, 7) * 1e6
                }
                function day(x) { return x - int(x / 86400e6) * 86400e6 }
                function row(o, n, v, c) { printf "%s\t%d\t%s\t%s\t%d\t%d\n", set, run, o, n, v, c }
                $3 == "step" && $5 == "done" && $NF ~ /^us=/ {
                    n = $4; us = substr($NF, 4); end = us_of_day($1)
                    if (!(n in o)) { o[n] = ++k; first_end[n] = end; first_us[n] = us }
                    s[n] += us; c[n]++
                    if (end > last) last = end
                }
                END {
                    for (n in s) row(o[n], n, s[n], c[n])
                    row(0, "(wall time of husk run)", t1 - t0, 1)
                    row(0.5, "(before the first step: fork+exec from bash, startup, arguments)",
                        first_end["load-config"] - first_us["load-config"] - day(t0), 1)
                    row(1000, "(parent outside steps, load-config to clone: state dir, lock, socket)",
                        first_end["clone"] - first_us["clone"] - first_end["load-config"] - s["create-cgroup"] - s["open-namespaces"], 1)
                    row(1001, "(after the init'"'"'s last step: execve, true, exit, reap, delete)",
                        day(t1) - last, 1)
                }' "$d/$set-$i.log" >>"$d/steps.tsv"
        done
    done
    {
        say
        say "### husk \`--debug run\` of \`true\`: per-step timings, $MODE"
        say
        say "Medians over $STEP_RUNS runs, µs, for runs back to back and runs ${STEP_GAP} s apart; a step that runs"
        say "several times (\`mount\`) is summed per run. \"parent\" steps run in \`husk run\` itself, \"init\" steps in"
        say "the container's init (a fork of husk), concurrently. Without a user namespace the init moves"
        say "itself into its v1 cgroups (\`join-cgroups\`); with one, husk does (\`hand-over\`, which the init"
        say "sees as \`wait-for-parent\`). Rows in brackets are not steps but the gaps between them, from"
        say "the log's timestamps."
        say
        say "| step | in | calls | median, back to back | median, ${STEP_GAP} s apart | min–max, ${STEP_GAP} s apart |"
        say "|---|---|---|---|---|---|"
        jq -R -s -r '
            def median: sort | if length == 0 then null
                               elif length % 2 == 1 then .[length / 2 | floor]
                               else (.[length / 2 - 1] + .[length / 2]) / 2 end;
            def parent: ["load-config", "create-cgroup", "apply-device-rules", "open-namespaces",
                         "join-namespace", "unshare", "clone", "hand-over",
                         "create-runtime-hooks", "seccomp-listener"];
            def fmt: if . == null then "-" else floor | tostring end;
            split("\n") | map(select(length > 0) | split("\t")
                | {set: .[0], order: (.[2] | tonumber), name: .[3],
                   us: (.[4] | tonumber), calls: (.[5] | tonumber)})
            | group_by(.name)
            | map({name: .[0].name, order: (map(.order) | median),
                   calls: (map(.calls) | median),
                   b2b: (map(select(.set == "b2b") | .us) | median),
                   gap: (map(select(.set == "gap") | .us) | median),
                   min: (map(select(.set == "gap") | .us) | min),
                   max: (map(select(.set == "gap") | .us) | max)})
            | sort_by(.order) | .[]
            | (.name as $n | if ($n | startswith("(")) then "parent"
                             elif (parent | index([$n])) then "parent" else "init" end) as $in
            | "| \(.name) | \($in) | \(.calls) | \(.b2b | fmt) | \(.gap | fmt) | \(.min | fmt)–\(.max | fmt) |"
        ' "$d/steps.tsv"
        say
        local n
        for set in b2b gap; do
            for n in join-cgroups hand-over wait-for-parent; do
                awk -F'\t' -v n="$n" '$4 == n { f = 1 } END { exit !f }' "$d/steps.tsv" || continue
                say "\`$n\`, $([ $set = b2b ] && echo "back to back" || echo "${STEP_GAP} s apart"), per run (µs, sorted):" \
                    "$(awk -F'\t' -v s="$set" -v n="$n" '$1 == s && $4 == n { print $5 }' "$d/steps.tsv" | sort -n | tr '\n' ' ')"
                say
            done
        done
    } | add_report
}

# ---------------------------------------------------------------------------
# Peak RSS and binary sizes (unpinned only).
bench_rss() {
    heading "Peak RSS and binary size"
    maxrss() { # median of 5 "Maximum resident set size" in KiB
        local i
        for i in 1 2 3 4 5; do
            /usr/bin/time -v "$@" 2>&1 >/dev/null </dev/null | awk -F': ' '/Maximum resident set size/ { print $2 }'
        done | sort -n | sed -n 3p
    }
    local rt
    {
        say
        say "### Peak RSS (\`/usr/bin/time -v\`, maximum resident set size, median of 5, KiB)"
        say
        say "\`run\` counts the largest of the runtime and the children it waited for: for husk that"
        say "includes the container's init (a fork of husk) before its exec."
        say
        say "| runtime | run of true | state of a running container |"
        say "|---|---|---|"
        for rt in "${RUNTIMES[@]}"; do
            # shellcheck disable=SC2046
            $(wrapped "$rt") run --detach --bundle "$T/long" "$TAG-${LETTER[$rt]}m" </dev/null >/dev/null 2>&1
            local st=${CMD[$rt]}
            [ "$rt" = crun ] && st=$CRUN_PLAIN
            # shellcheck disable=SC2046,SC2086
            say "| $rt | $(maxrss $(wrapped "$rt") run --bundle "$T/true" "$TAG-${LETTER[$rt]}r") | $(maxrss $st state "$TAG-${LETTER[$rt]}m") |"
            # shellcheck disable=SC2046
            $(wrapped "$rt") delete --force "$TAG-${LETTER[$rt]}m" >/dev/null
        done
        say
        say "### Binary size"
        say
        say "| binary | bytes | linking | symbols |"
        say "|---|---|---|---|"
        local f info
        for f in "$T/bin/husk" "$(command -v runc)" "$(command -v crun)"; do
            info=$(file -b "$f")
            say "| ${f/#$T\/bin\/husk/target/release/husk} | $(stat -c %s "$f") | $(grep -o 'static-pie linked\|statically linked\|dynamically linked' <<<"$info" | head -1) | $(grep -o 'not stripped\|stripped' <<<"$info" | head -1) |"
        done
        say
        say "crun also loads shared libraries (ldd: $(ldd "$(command -v crun)" | wc -l) entries); husk and runc: $(ldd target/release/husk | wc -l) and $(ldd "$(command -v runc)" | wc -l)."
    } | add_report
}

# ---------------------------------------------------------------------------
have file || apt_install_missing file
wanted probe && probe
for MODE in $MODES; do
    if [ "$MODE" = pinned ]; then PIN=(taskset -c 0); else PIN=(); fi
    heading "Mode: $MODE${PIN[*]:+ (${PIN[*]})}"
    load_note " before $MODE"
    wanted a && bench_run
    wanted f && bench_like
    wanted b && bench_cycle
    wanted e && bench_state
    wanted steps && bench_steps
    wanted c && bench_seq
    wanted d && bench_alive
    load_note " after $MODE"
done
wanted rss && bench_rss

{
    say
    say "load average at the end: $(load_now)"
    if grep -q NOTE "$R/load.txt"; then
        say
        say "The load was high during the run (other jobs on the machine):"
        say
        say '```'
        cat "$R/load.txt"
        say '```'
    fi
} | add_report

heading "Results"
cat "$R/results.md"
say
say "(raw data: $R)"
