#!/usr/bin/env bash
# shellcheck disable=SC2317 # the stage_* functions are called as "stage_$name"
# The project's one test command: what CI runs (.ci/run) and what to run
# before pushing.
#
#   ./scripts/test.sh            run every stage
#   ./scripts/test.sh fmt build  run only these stages (in pipeline order)
#
# Stages: deps fmt clippy rootfs build test crash compat vm systemd containerd podman docker
#   deps    install missing Debian packages; check cargo, rustfmt, clippy
#   fmt     cargo fmt --check
#   clippy  cargo clippy --all-targets -- -D warnings
#   rootfs  scripts/mkrootfs.sh (bundles/busybox/rootfs, used by the tests)
#   build   cargo build
#   test    cargo test (unit + integration; integration tests need root),
#           without the two below
#   crash   tests/crash.rs (husk killed at every step of create and at 300+
#           random moments; delete --force must leave nothing) and
#           tests/concurrency.rs (8 clients on one container, 20 rounds),
#           with their figures printed
#   compat  cargo test --test compat: the corpus in tests/compat (configs
#           that runc spec, crun spec, docker, podman and ctr wrote), husk
#           vs runc, compared from inside the container
#   vm      scripts/vm-test.sh: the cgroup v2 suite in a qemu VM (stock kernel)
#   systemd scripts/systemd-test.sh: husk --systemd-cgroup in a VM whose PID 1
#           is systemd (Debian bookworm, pure cgroup v2), checked against runc
#   containerd  scripts/e2e/containerd.sh: ctr + runc v2 shim with husk, vs runc
#   podman  scripts/e2e/podman.sh: podman + conmon with husk, vs runc
#   docker  scripts/e2e/docker.sh: dockerd 20.10 (cgroupfs) with husk, vs runc
#
# Environment:
#   HUSK_TEST_FILTER   a test-name filter passed to `cargo test`
#   HUSK_COMPAT_FILTER a "source/case" substring for the compat stage
#
# Runs as root (re-runs itself with sudo). Exits non-zero if any stage fails;
# the last line is "PASS: ..." or "FAIL: ...".
#
# Adding a stage: write a stage_NAME function, add NAME to STAGES, and to
# REQUIRED if the stages after it cannot run without it.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

STAGES=(deps fmt clippy rootfs build test crash compat vm systemd containerd podman docker)
# vm: scripts/vm-test.sh boots Debian's stock kernel under qemu with pure
#     cgroup v2 (this host is hybrid) and runs the v2 suite there.

# A failure in one of these skips the rest; fmt and clippy failures do not.
REQUIRED=(deps rootfs build)

case "${1:-}" in
-h | --help)
    sed -n '3,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
esac
for arg in "$@"; do
    case " ${STAGES[*]} " in
    *" $arg "*) ;;
    *) die "unknown stage '$arg' (stages: ${STAGES[*]})" ;;
    esac
done

reexec_as_root "$0" "$@"
cd "$REPO_ROOT"

# Where the integration tests find the example rootfs.
export HUSK_TEST_ROOTFS="$REPO_ROOT/bundles/busybox/rootfs"

# ---------------------------------------------------------------------------
# Stages. Each runs in a subshell with `set -e`; its exit status is the result.

stage_deps() {
    # uidmap: newuidmap/newgidmap for the rootless tests (tests/rootless.rs).
    apt_install_missing busybox-static libseccomp2 uidmap
    # runc: for comparison tests, later.
    have cc || apt_install_missing build-essential
    if ! have cargo; then
        say "cargo is not installed. Install Rust with rustup:"
        say "    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"
        return 1
    fi
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        have rustup || die "cargo fmt / cargo clippy are missing and there is no rustup to add them"
        rustup component add rustfmt clippy
    fi
    cargo --version
}

stage_fmt() {
    cargo fmt --check
}

stage_clippy() {
    cargo clippy --all-targets -- -D warnings
}

stage_rootfs() {
    scripts/mkrootfs.sh
    "$HUSK_TEST_ROOTFS/bin/sh" -c true
}

stage_build() {
    cargo build
}

# The crash and concurrency tests run in their own stage, which prints
# their figures.
stage_test() {
    local skip=(--skip crash_ --skip concurrent_clients)
    if [ -n "${HUSK_TEST_FILTER:-}" ]; then
        cargo test -- "$HUSK_TEST_FILTER" "${skip[@]}"
    else
        cargo test -- "${skip[@]}"
    fi
}

stage_crash() {
    cargo test --test crash --test concurrency -- --nocapture
}

stage_vm() {
    scripts/vm-test.sh
}

# The systemd VM's image is built once into /var/cache/husk-vm/sdvm.
stage_systemd() {
    scripts/systemd-test.sh
}

# husk as the runtime of a private containerd (runc v2 shim) and of podman
# (conmon), each scenario compared with runc. The debug build from the
# build stage is enough.
stage_containerd() {
    HUSK_BIN="$REPO_ROOT/target/debug/husk" scripts/e2e/containerd.sh
}

stage_podman() {
    HUSK_BIN="$REPO_ROOT/target/debug/husk" scripts/e2e/podman.sh
}

stage_docker() {
    HUSK_BIN="$REPO_ROOT/target/debug/husk" scripts/e2e/docker.sh
}

# The differential harness (tests/compat/README.md); HUSK_COMPAT_FILTER
# selects cases. runc is the oracle; crun writes two of the configs.
stage_compat() {
    apt_install_missing runc crun
    cargo test --test compat
}

# ---------------------------------------------------------------------------
# Runner.

if [ -t 1 ]; then
    bold=$'\033[1m' red=$'\033[31m' green=$'\033[32m' plain=$'\033[0m'
else
    bold="" red="" green="" plain=""
fi

trap 'chown_back_to_invoker target' EXIT

selected=("$@")
[ "${#selected[@]}" -gt 0 ] || selected=("${STAGES[@]}")

declare -A result=() took=()
failed=()
skip_rest=""
start_all=$SECONDS
for stage in "${STAGES[@]}"; do
    case " ${selected[*]} " in *" $stage "*) ;; *) continue ;; esac
    if [ -n "$skip_rest" ]; then
        result[$stage]="SKIP"
        continue
    fi
    printf '\n%s==> %s%s\n' "$bold" "$stage" "$plain"
    start=$SECONDS
    set +e
    (
        set -e
        "stage_$stage"
    )
    rc=$?
    set -e
    took[$stage]=$((SECONDS - start))
    if [ "$rc" -eq 0 ]; then
        result[$stage]="PASS"
    else
        result[$stage]="FAIL"
        failed+=("$stage")
        case " ${REQUIRED[*]} " in *" $stage "*) skip_rest="$stage" ;; esac
    fi
done

printf '\n%sSummary%s\n' "$bold" "$plain"
for stage in "${STAGES[@]}"; do
    [ -n "${result[$stage]:-}" ] || continue
    case ${result[$stage]} in
    PASS) color=$green ;;
    FAIL) color=$red ;;
    *) color="" ;;
    esac
    secs=""
    [ -n "${took[$stage]:-}" ] && secs="${took[$stage]}s"
    printf '  %-8s %s%-4s%s %6s\n' "$stage" "$color" "${result[$stage]}" "$plain" "$secs"
done

total=$((SECONDS - start_all))
ran=${#result[@]}
if [ "${#failed[@]}" -eq 0 ]; then
    printf '%sPASS%s: all %d stages passed in %ds\n' "$green$bold" "$plain" "$ran" "$total"
    exit 0
fi
msg="${failed[*]} failed"
[ -n "$skip_rest" ] && msg="$msg (later stages skipped after $skip_rest)"
printf '%sFAIL%s: %s, %ds\n' "$red$bold" "$plain" "$msg" "$total"
exit 1
