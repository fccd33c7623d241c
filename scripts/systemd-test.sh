#!/usr/bin/env bash
# husk's systemd cgroup driver on a stock systemd host: boot the systemd VM
# (scripts/systemd-vm.sh: Debian's kernel and packages, systemd as PID 1,
# pure cgroup v2) with husk, a busybox rootfs and scripts/sdvm/systemd-suite.sh
# as its payload, and report the suite's "N passed, M failed".
#
#   ./scripts/systemd-test.sh
#
# Environment:
#   HUSK_SDVM_CHECKS  run only these checks of the suite, e.g. "scope oom"
#   HUSK_SDVM_LOG     the serial log (default target/systemd-vm/systemd-suite.log)
#   and the variables of scripts/systemd-vm.sh (cache, timeout, accelerator).
#
# Runs as root (re-runs itself with sudo). Exits 0 only if the suite ran
# and no check failed.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

no_args_but_help "$@"
reexec_as_root "$0" "$@"
cd "$REPO_ROOT"

payload=$(mktemp -d /tmp/husk-sdvm-payload.XXXXXX)
trap 'rm -rf "$payload"; chown_back_to_invoker target' EXIT

say "==> building husk (release) and the busybox rootfs"
cargo build --release --quiet
scripts/mkrootfs.sh >/dev/null

mkdir -p "$payload/bin"
install -m 0755 target/release/husk "$payload/bin/husk"
cp -a bundles/busybox/rootfs "$payload/rootfs"
install -m 0755 scripts/sdvm/systemd-suite.sh "$payload/run.sh"
printf '%s\n' "${HUSK_SDVM_CHECKS:-}" >"$payload/checks"

export HUSK_SDVM_LOG=${HUSK_SDVM_LOG:-$REPO_ROOT/target/systemd-vm/systemd-suite.log}
scripts/systemd-vm.sh "$payload"
