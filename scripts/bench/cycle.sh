#!/bin/sh
# One create/start/wait/delete cycle, for scripts/bench.sh workload (b).
#
#   cycle.sh ID BUNDLE POLL_LOG RUNTIME [GLOBAL_FLAGS...]
#
# create, start, then `state` until the status is "stopped" (the container
# runs `true`, so one or two polls), then delete. Every runtime gets the same
# four kinds of calls; the number of `state` calls is appended to POLL_LOG so
# the report can show it was the same for all.
set -eu
id=$1 bundle=$2 polls=$3
shift 3
"$@" create --bundle "$bundle" "$id" </dev/null >/dev/null
"$@" start "$id"
n=0
while :; do
    n=$((n + 1))
    s=$("$@" state "$id")
    case $s in *'"stopped"'*) break ;; esac
    [ "$n" -lt 5000 ] || { echo "cycle.sh: $id never stopped" >&2; exit 1; }
done
"$@" delete "$id"
echo "$n" >>"$polls"
