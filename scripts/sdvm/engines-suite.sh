#!/bin/bash
# The payload of scripts/engines-test.sh, run in the systemd VM by
# husk-payload.service: one engine's e2e script, husk against runc, on this
# stock host (systemd as PID 1, pure cgroup v2, Debian's engine packages
# with their default configuration).
#
# /payload/engine names the engine (podman, docker or cri), and
# /payload/scenarios the scenarios to run (empty: all). The e2e script
# prints PASS/FAIL lines and "N passed, M failed" on the console. A failed
# run's kept directory (logs, configs) goes to /payload/out.
set -u
cd /payload || exit 126
engine=$(cat engine)
read -r -a names <scenarios || true

export HUSK_BIN=/payload/bin/husk
export PATH=/payload/bin:$PATH
# Fail loudly, not at the first scenario, if the host is not what the
# test is about.
[ -d /run/systemd/system ] || { echo "FAIL: systemd is not PID 1"; exit 1; }
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || { echo "FAIL: /sys/fs/cgroup is not cgroup2"; exit 1; }
systemctl is-system-running --wait >/dev/null 2>&1 || true

mkdir -p out
export HUSK_E2E_KEEP_FAILED=/payload/out/kept
script=/payload/repo/scripts/e2e/$engine.sh
echo "==> $engine: $script ${names[*]} (husk $("$HUSK_BIN" --version | head -n 1))"
t0=$SECONDS
rc=0
"$script" "${names[@]}" || rc=$?
echo "TIME $engine $((SECONDS - t0))s"
exit "$rc"
