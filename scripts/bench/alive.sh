#!/bin/sh
# Many containers alive at once, for scripts/bench.sh workload (d).
#
#   alive.sh up|down|clean N ID_PREFIX BUNDLE RUNTIME [GLOBAL_FLAGS...]
#
# up:    `run --detach` N containers (the bundle runs `sleep`), one after the
#        other; all stay alive.
# down:  `delete --force` each of them (kills it, then removes it).
# clean: like down, but ignores errors (for containers that do not exist).
set -eu
what=$1 n=$2 prefix=$3 bundle=$4
shift 4
i=1
while [ "$i" -le "$n" ]; do
    case $what in
    up) "$@" run --detach --bundle "$bundle" "$prefix$i" </dev/null >/dev/null ;;
    down) "$@" delete --force "$prefix$i" ;;
    clean) "$@" delete --force "$prefix$i" >/dev/null 2>&1 || : ;;
    *) echo "alive.sh: up, down or clean" >&2; exit 2 ;;
    esac
    i=$((i + 1))
done
