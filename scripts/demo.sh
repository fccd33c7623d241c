#!/usr/bin/env bash
# A guided tour: start one busybox container with husk and look at it from
# both sides. The point to take away: a container is an ordinary Linux
# process that the kernel shows a different view of the world (its own PID
# numbers, hostname, mounts, capabilities), not a virtual machine.
#
#   ./scripts/demo.sh
#
# Needs root (re-runs itself with sudo), Debian's apt-get for missing
# packages, and cargo. Environment:
#   HUSK_BIN=/path/to/runtime   use this binary instead of building husk
#                               (any runc-compatible runtime works, e.g. runc)
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

reexec_as_root "$0" "$@"
cd "$REPO_ROOT"

heading() { printf '\n\033[1m=== %s ===\033[0m\n' "$*"; }
[ -t 1 ] || heading() { printf '\n=== %s ===\n' "$*"; }
note() { printf '    %s\n' "$*"; }

# ---------------------------------------------------------------------------
heading "1. Prerequisites"
apt_install_missing busybox-static
have jq || apt_install_missing jq
have ps || apt_install_missing procps
if [ -z "${HUSK_BIN:-}" ]; then
    have cc || apt_install_missing build-essential
    if ! have cargo; then
        say "cargo (the Rust build tool) is not installed. Install it with rustup:"
        say "    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"
        say "then open a new shell (or run: . \"\$HOME/.cargo/env\") and run this again."
        exit 1
    fi
fi
note "ok"

# ---------------------------------------------------------------------------
if [ -n "${HUSK_BIN:-}" ]; then
    husk=$HUSK_BIN
    heading "2. Runtime: $husk (HUSK_BIN is set, not building)"
else
    heading "2. Build husk (cargo build --release)"
    cargo build --release
    chown_back_to_invoker target
    husk=$REPO_ROOT/target/release/husk
fi
[ -x "$husk" ] || die "no runtime binary at $husk"

# ---------------------------------------------------------------------------
heading "3. Root filesystem (scripts/mkrootfs.sh)"
scripts/mkrootfs.sh
rootfs=$REPO_ROOT/bundles/busybox/rootfs
note "$rootfs: a static busybox plus /etc/passwd, and nothing else."
note "This directory will be the container's whole '/'."

# ---------------------------------------------------------------------------
# Everything temporary lives in two directories, removed on exit.
bundle=""
state_root=""
id="husk-demo-$$"
created=0
cleanup() {
    local rc=$?
    if [ "$created" = 1 ]; then
        "$husk" --root "$state_root" delete --force "$id" >/dev/null 2>&1 || true
    fi
    [ -n "$bundle" ] && rm -rf "$bundle"
    [ -n "$state_root" ] && rm -rf "$state_root"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bundle=$(mktemp -d /tmp/husk-demo-bundle.XXXXXX)
state_root=$(mktemp -d /tmp/husk-demo-root.XXXXXX)

# The program the container runs. It prints what the world looks like from
# inside, then sleeps so that we can look at it from outside.
container_script=$(cat <<'SCRIPT'
echo
echo "=== 7. Inside the container (this is the container's own output) ==="
echo "my PID: $$"
echo "    (PID 1: the first and only process in a new PID namespace)"
echo "hostname: $(hostname)"
echo "    (its own UTS namespace: set from config.json, the host's is unchanged)"
echo
echo "--- my mounts: cat /proc/self/mounts ---"
cat /proc/self/mounts
echo "    (its own mount namespace: / is the busybox rootfs, read-only)"
echo
echo "--- my capabilities: /proc/self/status ---"
grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status
echo "    (0000000020000420 = CAP_KILL + CAP_NET_BIND_SERVICE + CAP_AUDIT_WRITE:"
echo "     root, but only 3 of the ~41 powers root has on the host)"
echo
echo "(container: sleeping 3 seconds so the host can look at me)"
sleep 3
echo "(container: done, exiting with code 0)"
SCRIPT
)

# make_config SRC DST: copy SRC to DST with process.args replaced by
# ["sh","-c",$container_script] and root.path made absolute.
make_config() {
    jq --arg s "$container_script" --arg r "$rootfs" \
        '.process.args = ["sh", "-c", $s] | .root.path = $r' "$1" >"$2"
}

heading "4. Bundle: a directory with config.json (and a rootfs)"
make_config bundles/busybox/config.json "$bundle/config.json"
note "bundle:     $bundle/config.json (from bundles/busybox/config.json)"
note "root.path:  $rootfs"
note "args:       sh -c '<the script that prints section 7>'"
note "namespaces: pid network ipc uts mount cgroup"

# ---------------------------------------------------------------------------
heading "5. husk create: namespaces, mounts and pivot_root are done, the program is not started"
note "\$ husk --root $state_root create --bundle $bundle $id"
# The container's stdout/stderr are husk create's: this terminal.
created=1 # from here on, clean up with delete --force on any exit
"$husk" --root "$state_root" create --bundle "$bundle" "$id" </dev/null ||
    die "husk create failed (its message is above)"
note "\$ husk state $id"
printf '%s\n' "$("$husk" --root "$state_root" state "$id")" | sed 's/^/    /'

heading "6. husk start: the waiting init now runs (exec) the container's program"
note "\$ husk start $id"
"$husk" --root "$state_root" start "$id" || die "husk start failed (its message is above)"

# Let the container print its part before we print ours.
sleep 1

# ---------------------------------------------------------------------------
heading "8. The same container, seen from the host"
state_json=$("$husk" --root "$state_root" state "$id")
pid=$(printf '%s\n' "$state_json" | grep -o '"pid": *[0-9]*' | head -n 1 | grep -o '[0-9]*$' || true)
if [ -z "$pid" ] || [ "$pid" = 0 ]; then
    die "could not find the container's pid in: $state_json"
fi
note "husk state says its pid is $pid. On the host it is just a process:"
echo
echo "--- ps -o pid,ppid,user,comm -p $pid ---"
ps -o pid,ppid,user,comm -p "$pid" || true
note "(its parent is not husk: husk create has already exited)"
echo
echo "--- grep NSpid /proc/$pid/status ---"
grep NSpid "/proc/$pid/status" || true
note "(one process, two numbers: $pid on the host, 1 inside its PID namespace)"
echo
echo "--- namespaces: ls -l /proc/$pid/ns (container) next to ls -l /proc/self/ns (host) ---"
printf '%-18s %-26s %-26s %s\n' "NAMESPACE" "HOST" "CONTAINER" ""
differ=""
for link in "/proc/$pid/ns/"*; do
    ns=${link##*/}
    c=$(readlink "$link" 2>/dev/null || echo "?")
    h=$(readlink "/proc/self/ns/$ns" 2>/dev/null || echo "?")
    if [ "$c" = "$h" ]; then
        mark="same"
    else
        mark="DIFFERENT"
        differ="$differ $ns"
    fi
    printf '%-18s %-26s %-26s %s\n' "$ns" "$h" "$c" "$mark"
done
note "Different:$differ"
note "(the number is the namespace's inode: same number, same namespace as the host)"
case " $differ " in
*" user "*) ;;
*) note "(user is the same: root in this container is root on the host, with fewer capabilities)" ;;
esac

# ---------------------------------------------------------------------------
heading "9. Wait for the container to exit, then delete it"
status=""
for _ in $(seq 1 100); do
    status=$("$husk" --root "$state_root" state "$id" 2>/dev/null |
        grep -o '"status": *"[a-z]*"' | head -n 1 | sed 's/.*"\([a-z]*\)"$/\1/' || true)
    [ "$status" = "stopped" ] && break
    sleep 0.2
done
note "status: ${status:-unknown}"
if [ "$status" != "stopped" ]; then
    note "still running after 20s; killing it"
    "$husk" --root "$state_root" kill "$id" KILL || true
    sleep 0.5
fi
note "\$ husk delete $id"
"$husk" --root "$state_root" delete "$id"
created=0
note "deleted: the state directory is gone and nothing is left running."
echo
say "Done. Read it again from the top: everything in section 7 was one process on the host."
