#!/usr/bin/env bash
# Fuzz husk's input parsers with cargo-fuzz (libFuzzer), each target for a
# bounded time. Not part of scripts/test.sh or CI: the inputs it has found
# live on as regression tests (fuzz/regressions/, tests/fuzz_regressions.rs),
# and those do run in CI.
#
#   ./scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 60; TARGET defaults to all of
# config mount_options signal seccomp.
#
# Seeds come from the repository at run time: bundles/*/config.json, the
# seccomp profiles written in tests/seccomp.rs, the option table of
# src/linux/mount_options.rs, and signal names and numbers. The corpus grows
# in fuzz/corpus/<target>/ (ignored by git) and is reused by the next run.
#
# Environment:
#   HUSK_FUZZ_SANITIZER  address, none, ... (default none: husk's parsers
#                        are safe Rust, and debug assertions, which catch
#                        integer overflow, are on either way)
#   HUSK_FUZZ_ARGS       more libFuzzer flags, e.g. "-jobs=2 -workers=2"
#
# Installs what is missing (Debian packages, cargo-fuzz); needs the nightly
# toolchain (rustup toolchain install nightly). Exits non-zero, naming the
# crash files, if any target found a crash.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

ALL_TARGETS=(config mount_options signal seccomp)

case "${1:-}" in
-h | --help)
    sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
esac
secs=${1:-60}
case $secs in
'' | *[!0-9]*) die "SECONDS_PER_TARGET must be a number of seconds, not '$secs'" ;;
esac
[ "$#" -gt 0 ] && shift
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
    case " ${ALL_TARGETS[*]} " in
    *" $t "*) ;;
    *) die "unknown target '$t' (targets: ${ALL_TARGETS[*]})" ;;
    esac
done

cd "$REPO_ROOT"
FUZZ=$REPO_ROOT/fuzz

# --- what it needs ----------------------------------------------------------

# libseccomp (husk dlopens it) for the seccomp target; a C++ compiler for
# libFuzzer; jq for seeds.
apt_install_missing libseccomp2 build-essential jq
have cargo || die "cargo is not installed (https://rustup.rs)"
if ! cargo +nightly --version >/dev/null 2>&1; then
    have rustup || die "cargo-fuzz needs a nightly toolchain, and there is no rustup to add one"
    rustup toolchain install nightly --profile minimal ||
        die "could not install the nightly toolchain (rustup toolchain install nightly)"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

# --- seeds --------------------------------------------------------------------

# seed TARGET NAME: stdin becomes fuzz/corpus/TARGET/seed-NAME.
seed() {
    cat >"$FUZZ/corpus/$1/seed-$2"
}

make_seeds() {
    local t n f
    for t in "${ALL_TARGETS[@]}"; do
        mkdir -p "$FUZZ/corpus/$t"
    done

    # config: every bundle's config.json (root.path "rootfs" resolves in
    # the target's scratch bundle).
    n=0
    while IFS= read -r f; do
        n=$((n + 1))
        seed config "bundle-$n" <"$f"
    done < <(find bundles -name config.json | sort)

    # seccomp: the json!({...}) profiles of tests/seccomp.rs and
    # tests/common (Rust expressions in them become a string), every
    # bundle's linux.seccomp, and each action on mkdir.
    n=0
    while IFS= read -r -d '' f; do
        f=$(printf '%s' "$f" | perl -pe 's/:\s*([A-Za-z_][A-Za-z_0-9.()]*)\s*([,}\]])/: "$1"$2/g')
        if printf '%s' "$f" | jq -e 'has("defaultAction")' >/dev/null 2>&1; then
            n=$((n + 1))
            printf '%s' "$f" | jq -c . | seed seccomp "test-$n"
            # and inside a config, so the config target sees them too
            jq -c --argjson s "$(printf '%s' "$f" | jq -c .)" '.linux.seccomp = $s' \
                bundles/busybox/config.json | seed config "seccomp-$n"
        fi
    done < <(perl -0777 -ne 'while (/json!\((\{(?:[^{}]++|(?1))*\})\)/g) { print "$1\0" }' \
        tests/seccomp.rs tests/common/mod.rs)
    n=0
    while IFS= read -r f; do
        n=$((n + 1))
        jq -c '.linux.seccomp' "$f" | seed seccomp "bundle-$n"
    done < <(find bundles -name config.json -exec grep -l '"seccomp"' {} + | sort)
    for a in $(grep -o '"SCMP_ACT_[A-Z_]*"' src/linux/seccomp.rs | sort -u | tr -d '"'); do
        jq -nc --arg a "$a" '{defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/l.sock",
            architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
            syscalls: [{names: ["mkdir", "mkdirat"], action: $a, errnoRet: 1,
                        args: [{index: 1, value: 448, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ"}]}]}' |
            seed seccomp "action-$a"
    done

    # mount_options (one option a line): each name in the option table,
    # and each bundle mount's list.
    for f in $(sed -n '/^const TABLE/,/^];/p' src/linux/mount_options.rs | grep -o '"[a-z]*"' | tr -d '"'); do
        printf '%s\n' "$f" | seed mount_options "table-$f"
    done
    n=0
    while IFS= read -r f; do
        n=$((n + 1))
        printf '%s' "$f" | jq -r 'join("\n")' | seed mount_options "bundle-$n"
    done < <(find bundles -name config.json -exec jq -c '.mounts[]?.options // empty' {} + | sort -u)

    # Dictionaries: the words the parsers look for (string literals of
    # the files that read each input, the configs' keys) and numbers at the
    # edges, which byte mutations seldom make.
    local edges='0 1 -1 5 6 64 65 4094 4095 4096 65535 65536 2147483647 2147483648
        4294967295 4294967296 9223372036854775807 -9223372036854775808 18446744073709551615 1e400 1.5'
    mkdict() {
        local out=$FUZZ/corpus/$1.dict
        shift
        {
            grep -ho '"[A-Za-z_][A-Za-z0-9_.+-]*"' "$@" | sort -u
            find bundles -name config.json -exec jq -r '[paths | .[-1] | strings] | .[]' {} + |
                sort -u | sed 's/.*/"&"/'
            for n in $edges; do printf '"%s"\n' "$n"; done
        } | sort -u >"$out"
    }
    mkdict config src/spec/*.rs src/linux/seccomp.rs src/linux/mount_options.rs \
        src/linux/capabilities.rs src/linux/rlimits.rs src/linux/process_attrs.rs \
        src/linux/namespaces.rs src/cgroups/resources.rs src/hooks.rs
    mkdict seccomp src/linux/seccomp.rs
    mkdict mount_options src/linux/mount_options.rs
    mkdict signal src/linux/signal.rs

    # signal: names (with and without SIG, in lower case) and numbers.
    for f in $(kill -l | tr -s ' \t)' '\n' | grep '^SIG'); do
        printf '%s' "$f" | seed signal "$f"
        printf '%s' "${f#SIG}" | tr '[:upper:]' '[:lower:]' | seed signal "lc-$f"
    done
    for n in 0 1 9 15 31 34 64 65 -1 4294967305; do
        printf '%s' "$n" | seed signal "num-$n"
    done
}

# --- run ------------------------------------------------------------------------

make_seeds
# Built once, and the binaries run directly: `cargo fuzz run` builds with
# other flags than `cargo fuzz build`, and husk's build script runs again on
# every build in a git worktree, so each run would rebuild husk first.
sanitizer=${HUSK_FUZZ_SANITIZER:-none}
cd "$FUZZ"
cargo +nightly fuzz build --debug-assertions --sanitizer "$sanitizer" >&2
bin=$FUZZ/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release

crashed=()
for t in "${targets[@]}"; do
    mkdir -p "artifacts/$t" "corpus/$t"
    before=$(find "artifacts/$t" -type f | sort)
    say "==> $t: ${secs}s" >&2
    log="artifacts/$t.log"
    # -rss_limit_mb: a config is small; 2 GB means a runaway allocation.
    # -timeout: one input taking 10 s is a hang.
    # shellcheck disable=SC2086 # HUSK_FUZZ_ARGS is a list of flags
    if ! "$bin/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -dict="corpus/$t.dict" ${HUSK_FUZZ_ARGS:-} "corpus/$t" >"$log" 2>&1; then
        say "$t: the fuzzer stopped with a failure (log: fuzz/$log)" >&2
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done )' "$log" | sed "s/^/  $t: /" >&2 || true
    after=$(find "artifacts/$t" -type f | sort)
    new=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed '/^$/d')
    if [ -n "$new" ]; then
        while IFS= read -r f; do
            crashed+=("fuzz/$f")
        done <<<"$new"
    fi
done

if [ "${#crashed[@]}" -gt 0 ]; then
    say "FAIL: crashing inputs (reproduce with: fuzz/target/*/release/TARGET FILE):" >&2
    printf '  %s\n' "${crashed[@]}" >&2
    say "Keep each as fuzz/regressions/TARGET/NAME once fixed." >&2
    exit 1
fi
say "PASS: ${targets[*]}, ${secs}s each, no crash"
