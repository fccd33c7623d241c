# shellcheck shell=bash
# Shared helpers for husk's scripts. Source it; do not run it.
#
#   . "$(dirname "$0")/lib.sh"
#
# Provides: REPO_ROOT, say, die, have, reexec_as_root, apt_install_missing,
# is_static_elf, chown_back_to_invoker.

# The repository root: this file lives in <root>/scripts/.
# shellcheck disable=SC2034 # used by the scripts that source this file
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# no_args_but_help "$@": for scripts whose settings are environment
# variables. --help prints the script's header comment (line 2 up to
# `set -eu`) and exits; any other argument is an error.
no_args_but_help() {
    case "${1:-}" in
    -h | --help)
        sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    "") ;;
    *) die "unknown argument '$1': settings are environment variables (see --help)" ;;
    esac
}

# reexec_as_root SCRIPT [ARGS...]
# Returns if we are already root. Otherwise re-runs SCRIPT through sudo and
# never returns. The caller's Rust toolchain (cargo usually lives in
# ~/.cargo/bin, which sudo's secure_path drops) and HUSK_* settings are
# passed along explicitly.
reexec_as_root() {
    [ "$(id -u)" -eq 0 ] && return 0
    have sudo || die "run this as root (sudo is not installed)"
    local script
    script="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
    shift
    local -a envs=("PATH=$PATH")
    local cargo_home=${CARGO_HOME:-$HOME/.cargo}
    local rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
    [ -d "$cargo_home" ] && envs+=("CARGO_HOME=$cargo_home")
    [ -d "$rustup_home" ] && envs+=("RUSTUP_HOME=$rustup_home")
    local var
    for var in $(compgen -v HUSK_); do
        envs+=("$var=${!var}")
    done
    say "(not root: re-running with sudo)" >&2
    exec sudo -- env "${envs[@]}" "$script" "$@"
}

# apt_install_missing PKG...
# Installs those of the Debian packages that are not installed yet, quietly.
# Does nothing (and needs no network) when all are present.
apt_install_missing() {
    local -a missing=()
    local pkg
    for pkg in "$@"; do
        if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
            missing+=("$pkg")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    have apt-get || die "missing packages (${missing[*]}) and no apt-get to install them"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        have sudo || die "need root to install: ${missing[*]}"
        sudo="sudo"
    fi
    say "installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    # Another apt-get may hold the dpkg lock on a shared machine: wait.
    local -a install=(apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0
        -o DPkg::Lock::Timeout=600 "${missing[@]}")
    # A fresh image has no package lists; a stale one may name versions the
    # mirror no longer has. Either way: update once, then try again.
    if ! $sudo "${install[@]}" >/dev/null 2>&1; then
        $sudo apt-get update -qq -o DPkg::Lock::Timeout=600 >/dev/null || die "apt-get update failed"
        $sudo "${install[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
    fi
}

# is_static_elf FILE: true if FILE is an ELF executable with no interpreter.
is_static_elf() {
    [ -f "$1" ] && [ -x "$1" ] || return 1
    [ "$(head -c 4 "$1" | tail -c 3)" = ELF ] || return 1
    local out
    if have ldd; then
        # glibc's ldd says "not a dynamic executable" (or "statically linked")
        # for a static binary; for a dynamic one it lists libraries with "=>".
        out=$(ldd "$1" 2>&1) || true
        case $out in *"=>"*) return 1 ;; esac
        return 0
    elif have file; then
        out=$(file -L "$1")
        case $out in *"statically linked"*) return 0 ;; esac
        return 1
    fi
    return 1
}

# chown_back_to_invoker PATH...
# When we run as root through sudo, hand build outputs back to the user who
# called sudo, so their next plain `cargo build` is not denied.
chown_back_to_invoker() {
    [ "$(id -u)" -eq 0 ] || return 0
    [ -n "${SUDO_UID:-}" ] && [ "${SUDO_UID}" != 0 ] || return 0
    local p
    for p in "$@"; do
        if [ -e "$p" ]; then
            chown -R "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$p" 2>/dev/null || true
        fi
    done
}
