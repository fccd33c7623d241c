#!/usr/bin/env bash
# The engines on a stock systemd host: boot the systemd VM
# (scripts/systemd-vm.sh: Debian bookworm, systemd as PID 1, pure cgroup v2,
# Debian's podman, docker.io and containerd) and run an engine's e2e script
# there, husk against runc, with the engine's default configuration apart
# from the runtime's path (so the systemd cgroup manager).
#
#   ./scripts/engines-test.sh                 podman, docker and cri, one VM each
#   ./scripts/engines-test.sh podman cri      only these
#
# The engines:
#   podman  scripts/e2e/podman.sh (podman + conmon, cgroup_manager systemd)
#   docker  scripts/e2e/docker.sh (docker.io 20.10, native.cgroupdriver systemd)
#   cri     scripts/e2e/cri.sh (containerd's CRI plugin with the runc v2 shim,
#           SystemdCgroup = true, driven by tests/cri-client as a kubelet would)
#
# The VMs run at once (qemu snapshot=on: one cached image, a throw-away
# overlay each). Each prints its scenarios; this script then prints one line
# per engine and a last line "N passed, M failed" summing them.
#
# Environment:
#   HUSK_ENGINES_JOBS  how many VMs at once (default: all of them)
#   HUSK_E2E_FILTER    ENGINE:SCENARIO words to run only those scenarios,
#                      e.g. "podman:memory podman:oom docker:update"
#   HUSK_ENGINES_OUT   where each engine's logs go (default
#                      target/engines-vm/ENGINE/: serial.log, and what the
#                      e2e script kept of a failed run)
#   and the variables of scripts/systemd-vm.sh (cache, timeout, accelerator).
#
# Runs as root (re-runs itself with sudo). Exits 0 only if every engine ran
# and no scenario failed.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

ENGINES=(podman docker cri)

case "${1:-}" in
-h | --help)
    sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
esac
for arg in "$@"; do
    case " ${ENGINES[*]} " in
    *" $arg "*) ;;
    *) die "unknown engine '$arg' (engines: ${ENGINES[*]})" ;;
    esac
done
[ $# -gt 0 ] && ENGINES=("$@")

reexec_as_root "$0" "$@"
cd "$REPO_ROOT"

OUTROOT=${HUSK_ENGINES_OUT:-$REPO_ROOT/target/engines-vm}
JOBS=${HUSK_ENGINES_JOBS:-${#ENGINES[@]}}
work=$(mktemp -d /tmp/husk-engines.XXXXXX)
trap 'rm -rf "$work"; chown_back_to_invoker target' EXIT

say "==> building husk (release) and the busybox rootfs"
cargo build --release --quiet
scripts/mkrootfs.sh >/dev/null
scripts/systemd-vm.sh --build >/dev/null

# payload ENGINE DIR: what one VM gets. A copy of the repository's scripts
# and rootfs (the e2e scripts find husk through HUSK_BIN, the rootfs at
# REPO_ROOT/bundles/busybox/rootfs), husk, and the runner.
payload() {
    local engine=$1 dir=$2
    mkdir -p "$dir/bin" "$dir/repo/bundles/busybox"
    install -m 0755 target/release/husk "$dir/bin/husk"
    cp -a scripts "$dir/repo/scripts"
    cp -a bundles/busybox/rootfs "$dir/repo/bundles/busybox/rootfs"
    install -m 0755 scripts/sdvm/engines-suite.sh "$dir/run.sh"
    printf '%s\n' "$engine" >"$dir/engine"
    local f scenarios=""
    for f in ${HUSK_E2E_FILTER:-}; do
        [ "${f%%:*}" = "$engine" ] && scenarios="$scenarios ${f#*:}"
    done
    printf '%s\n' "${scenarios# }" >"$dir/scenarios"
    if [ "$engine" = cri ]; then
        # The kubelet's side of the CRI, built here (the VM has no cargo).
        scripts/e2e/cri/build.sh "$dir/bin/cri-client"
    fi
}

# run_engine ENGINE: one VM; its console goes to OUT/serial.log, the
# result line to $work/ENGINE.result.
run_engine() {
    local engine=$1 out=$OUTROOT/$1 dir=$work/$1 rc=0
    rm -rf "$out"
    mkdir -p "$out"
    payload "$engine" "$dir" >"$out/build.log" 2>&1 || {
        echo "$engine: the payload could not be built (see $out/build.log)" >"$work/$engine.result"
        return 1
    }
    HUSK_SDVM_LOG=$out/serial.log HUSK_SDVM_OUT=$out HUSK_SDVM_QUIET=1 \
        scripts/systemd-vm.sh "$dir" >"$out/vm.log" 2>&1 || rc=$?
    local line
    line=$(grep -a -E '^[0-9]+ passed, [0-9]+ failed' "$out/serial.log" | tail -n 1 || true)
    case $rc in
    0) echo "$engine: ${line:-no result line} (ok)" ;;
    125) echo "$engine: the VM failed (see $out/vm.log)" ;;
    *) echo "$engine: ${line:-no result line} (exit $rc)" ;;
    esac >"$work/$engine.result"
    return "$rc"
}

start=$SECONDS
pids=()
for engine in "${ENGINES[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    say "==> $engine: booting the systemd VM (log: $OUTROOT/$engine/serial.log)"
    run_engine "$engine" &
    pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done

# Each engine's scenarios, then the summary.
passed=0 nfail=0
for engine in "${ENGINES[@]}"; do
    say ""
    say "--- $engine"
    grep -a -E '^(PASS|FAIL|SKIP|    )' "$OUTROOT/$engine/serial.log" 2>/dev/null || true
done
say ""
for engine in "${ENGINES[@]}"; do
    line=$(cat "$work/$engine.result" 2>/dev/null || echo "$engine: no result")
    say "$line"
    if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        nfail=$((nfail + BASH_REMATCH[2]))
    fi
done
say "engines took $((SECONDS - start))s"
say "$passed passed, $nfail failed"
[ "$failed" -eq 0 ] && [ "$nfail" -eq 0 ]
