#!/usr/bin/env bash
# Many containers, one after the other, for scripts/bench.sh workload (c).
#
#   seq.sh N OUT BUNDLE ID_PREFIX RUNTIME [GLOBAL_FLAGS...]
#
# Runs `RUNTIME run --bundle BUNDLE ID_PREFIXi` for i = 1..N (the runtime
# removes each container when it exits) and writes one line per container to
# OUT: its wall time in microseconds. Timed with bash's $EPOCHREALTIME, which
# costs no fork (date +%s%N would add a date process to every sample).
set -eu
n=$1 out=$2 bundle=$3 prefix=$4
shift 4
: >"$out"
for ((i = 1; i <= n; i++)); do
    t0=${EPOCHREALTIME/./}
    "$@" run --bundle "$bundle" "$prefix$i" </dev/null >/dev/null
    t1=${EPOCHREALTIME/./}
    echo $((t1 - t0)) >>"$out"
done
