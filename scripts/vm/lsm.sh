#!/bin/sh
# shellcheck shell=sh disable=SC2154 # STATE, T, SRC, WORK, out, rc: suite.sh's
# AppArmor checks for the test VM, sourced by suite.sh (check "lsm").
#
# Debian's stock kernel has AppArmor built in and on by default. The
# profile husk-test (scripts/vm/husk-test.apparmor) was compiled on the host
# into /husk-test/husk-test.aa; it is loaded here by writing the binary
# policy to apparmorfs' .replace. Then:
#   lsm-profile-applied    apparmorProfile husk-test: the container's
#                          attr/current is "husk-test (enforce)" and the
#                          file the profile denies cannot be read
#   lsm-unconfined         apparmorProfile "unconfined": as before
#   lsm-no-profile         no apparmorProfile: as before
#   lsm-exec-inherits      husk exec in the confined container: same profile
#   lsm-exec-override      husk exec --apparmor unconfined: unconfined
#   lsm-unknown-profile    an unknown profile fails create, naming the
#                          profile, the attr file and ENOENT; nothing left
SECFS=/sys/kernel/security
AA_BLOB=/husk-test/husk-test.aa

# lsm_bundle ID PROFILE ARG...: the smoke bundle with these args and
# process.apparmorProfile (PROFILE "-" leaves it out).
lsm_bundle() {
    _id=$1 _prof=$2
    shift 2
    mkdir -p "$WORK/$_id"
    jq --arg id "$_id" --arg prof "$_prof" '
        .process.args = $ARGS.positional
        | .linux.cgroupsPath = "/husk-test/" + $id
        | (if $prof == "-" then del(.process.apparmorProfile)
           else .process.apparmorProfile = $prof end)' \
        "$SRC/smoke/config.json" --args -- "$@" >"$WORK/$_id/config.json"
    echo "$WORK/$_id"
}

# What a container prints: its label, then whether it could read the
# denied file.
LSM_PROBE='cat /proc/self/attr/current; if cat /etc/husk-denied >/dev/null 2>&1; then echo read-ok; else echo read-denied; fi'

lsm_run() {
    out=$(hk run --bundle "$(lsm_bundle "$@")" "$1" 2>&1)
    rc=$?
}

check_lsm() {
    mountpoint -q "$SECFS" || mount -t securityfs securityfs "$SECFS"
    echo "lsm: $(cat "$SECFS/lsm" 2>&1); apparmor enabled: $(cat /sys/module/apparmor/parameters/enabled 2>&1)"
    case ",$(cat "$SECFS/lsm" 2>/dev/null)," in
    *,apparmor,*) ;;
    *)
        skip lsm "this kernel runs no AppArmor"
        return
        ;;
    esac
    if [ ! -s "$AA_BLOB" ]; then
        skip lsm "no compiled profile $AA_BLOB (apparmor_parser missing on the host?)"
        return
    fi
    if ! _e=$(cat "$AA_BLOB" 2>&1 >"$SECFS/apparmor/.replace"); then
        fail lsm-load-profile "loading $AA_BLOB: $_e"
        return
    fi
    if grep -q '^husk-test (enforce)$' "$SECFS/apparmor/profiles"; then
        pass lsm-load-profile
    else
        fail lsm-load-profile "profiles: $(cat "$SECFS/apparmor/profiles")"
        return
    fi
    echo secret >/srv/rootfs/etc/husk-denied

    lsm_run lsm-aa husk-test sh -c "$LSM_PROBE"
    if [ "$rc" -eq 0 ] && [ "$out" = "husk-test (enforce)
read-denied" ]; then
        pass lsm-profile-applied
    else
        fail lsm-profile-applied "exit $rc, output: $out"
    fi

    lsm_run lsm-unconf unconfined sh -c "$LSM_PROBE"
    if [ "$rc" -eq 0 ] && [ "$out" = "unconfined
read-ok" ]; then
        pass lsm-unconfined
    else
        fail lsm-unconfined "exit $rc, output: $out"
    fi

    lsm_run lsm-none - sh -c "$LSM_PROBE"
    if [ "$rc" -eq 0 ] && [ "$out" = "unconfined
read-ok" ]; then
        pass lsm-no-profile
    else
        fail lsm-no-profile "exit $rc, output: $out"
    fi

    hk run --detach --bundle "$(lsm_bundle lsm-exec husk-test sleep 60)" lsm-exec >/tmp/lsm-exec.out 2>&1
    out=$(hk exec lsm-exec sh -c "$LSM_PROBE" 2>&1)
    if [ "$out" = "husk-test (enforce)
read-denied" ]; then
        pass lsm-exec-inherits
    else
        fail lsm-exec-inherits "husk exec: $out ($(cat /tmp/lsm-exec.out))"
    fi
    out=$(hk exec --apparmor unconfined lsm-exec sh -c "$LSM_PROBE" 2>&1)
    if [ "$out" = "unconfined
read-ok" ]; then
        pass lsm-exec-override
    else
        fail lsm-exec-override "husk exec --apparmor unconfined: $out"
    fi
    cleanup lsm-exec

    out=$(hk create --bundle "$(lsm_bundle lsm-bad husk-no-such-profile true)" lsm-bad 2>&1 </dev/null)
    rc=$?
    echo "lsm: unknown profile: $out"
    # husk's error line is runc's: msg="…" with the quotes inside escaped.
    case $(printf '%s\n' "$out" | sed 's/\\"/"/g') in
    *'process.apparmorProfile "husk-no-such-profile"'*'write "exec husk-no-such-profile" to /proc/thread-self/attr/apparmor/exec'*ENOENT*)
        if [ "$rc" -ne 0 ] && [ ! -e "$STATE/lsm-bad" ] && [ ! -e "$T/lsm-bad" ]; then
            pass lsm-unknown-profile
        else
            fail lsm-unknown-profile "exit $rc; left: $(ls -d "$STATE/lsm-bad" "$T/lsm-bad" 2>&1)"
        fi
        ;;
    *) fail lsm-unknown-profile "exit $rc, output: $out" ;;
    esac
    cleanup lsm-bad
    rm -f /srv/rootfs/etc/husk-denied
}
