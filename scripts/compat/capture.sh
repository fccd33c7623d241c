#!/usr/bin/env bash
# Capture real OCI configs from the real tools into the compatibility corpus.
#
#   scripts/compat/capture.sh               every source
#   scripts/compat/capture.sh SOURCE...     only these (docker podman ctr crun-spec seccomp;
#                                           seccomp uses the docker, podman and ctr captures
#                                           there are, and makes those that are missing)
#   scripts/compat/capture.sh --list        list the sources
#
# Regenerates tests/compat/configs/<source>/<case>/{config.json,case.json}
# (format: tests/compat/README.md). A source's directory is replaced as a
# whole, and only once that source captured something.
#
# The capture trick: every engine is given a logging wrapper as its OCI
# runtime. On `create` or `run` the wrapper copies <bundle>/config.json to
# <tmp>/cap/<container id>.json, notes which absolute mount sources are
# regular files at that moment (case.json's file_sources), then execs
# /usr/sbin/runc with the same argv. So every captured config did run under
# plain runc in its engine: a case is written only when the engine's command
# (`true` in a busybox image built here) exited 0. The config is kept as the
# engine wrote it, only pretty-printed (python3 json, indent 2: the same
# keys, values and order; Go's \u003c-style escapes become the characters).
#
#   docker     a private dockerd (own data root, exec root, pidfile, socket,
#              containerd namespace; a private bridge, no iptables), vfs
#   podman     private store (vfs), run root, tmp dir, containers.conf
#              (cgroupfs manager, netns "none" by default, file locks/events)
#   ctr        a private containerd (own root, state, socket; native
#              snapshotter), `ctr run` with the runc v2 shim and
#              --runc-binary pointing at the wrapper
#   crun-spec  `crun spec` and `crun spec --rootless`, as case.json's
#              "generate" (no config.json)
#   seccomp    the default profiles of docker, podman and containerd, taken
#              from the captured configs' linux.seccomp and patched into a
#              `runc spec` base; and runc-minimal(-nnp): a default-deny
#              profile found here with strace (the syscalls runc's init makes
#              after it loads the filter, up to and including the execve of
#              /bin/true, plus what /bin/true makes), verified with runc and
#              with each syscall removed in turn
#
# The engines' cgroups go below this process's own (memory) cgroup, as
# <own>/husk-capture-<pid>/..., never at the hierarchies' roots: dockerd
# --cgroup-parent, podman --cgroup-parent, ctr --cgroup. Those paths are in
# the captured configs' linux.cgroupsPath. Temp paths (<tmp> below) are too.
# Everything is stopped and removed at the end (trap): containers, daemons,
# shims, mounts, cgroups, the bridge, the temp dir.
#
# Settings (environment):
#   HUSK_CAPTURE_OUT=DIR   write there instead of tests/compat/configs
#   HUSK_CAPTURE_KEEP=1    keep the temp dir (logs, raw captures)
#   HUSK_CAPTURE_TIMEOUT   seconds one engine command may take (default 120)
#
# Needs root (re-runs itself with sudo). Installs with apt-get when missing:
# docker.io podman containerd runc crun golang-github-containers-common
# (Debian 12's containers-common: /usr/share/containers/seccomp.json) conmon
# catatonit tini uidmap jq strace python3 iproute2 busybox-static.
# Captured on Debian 12 (kernel 6.18, hybrid cgroups v1) with:
#   docker.io 20.10.24+dfsg1-1+deb12u1+b6, containerd 1.6.20~ds1-1+deb12u3,
#   podman 4.3.1+ds1-8+deb12u1+b3, conmon 2.1.6+ds1-1, runc 1.1.5+ds1-1+deb12u1
#   (libseccomp 2.5.4), crun 1.8.1-1+deb12u1, golang-github-containers-common
#   0.50.1+ds1-4, tini 0.19.0-1+b3 (docker-init), catatonit 0.1.7-1+b2.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

ALL_SOURCES=(docker podman ctr crun-spec seccomp)
case "${1:-}" in
-h | --help)
    sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
--list)
    printf '%s\n' "${ALL_SOURCES[@]}"
    exit 0
    ;;
esac
for arg in "$@"; do
    case " ${ALL_SOURCES[*]} " in
    *" $arg "*) ;;
    *) die "unknown source '$arg' (see --list)" ;;
    esac
done
SOURCES=("$@")
[ "${#SOURCES[@]}" -gt 0 ] || SOURCES=("${ALL_SOURCES[@]}")
wants() { case " ${SOURCES[*]} " in *" $1 "*) return 0 ;; esac; return 1; }
# seccomp's profiles come from the docker, podman and ctr captures in the
# output directory (captured first when missing).
if wants seccomp; then
    for s in docker/plain podman/plain ctr/seccomp; do
        wants "${s%/*}" && continue
        [ -f "${HUSK_CAPTURE_OUT:-$REPO_ROOT/tests/compat/configs}/$s/config.json" ] || SOURCES+=("${s%/*}")
    done
fi

reexec_as_root "$0" "$@"

apt_install_missing docker.io podman containerd runc crun golang-github-containers-common \
    conmon catatonit tini uidmap jq strace python3 iproute2 busybox-static
RUNC=/usr/sbin/runc
DOCKER=/usr/bin/docker # not /usr/local/bin/docker (another client)
DOCKERD=/usr/sbin/dockerd
for t in "$RUNC" "$DOCKER" "$DOCKERD" /usr/bin/podman /usr/bin/containerd /usr/bin/ctr \
    /usr/bin/crun /usr/bin/jq /usr/bin/strace /usr/bin/python3; do
    [ -x "$t" ] || die "$t is missing"
done
TMO=${HUSK_CAPTURE_TIMEOUT:-120}
OUT=${HUSK_CAPTURE_OUT:-$REPO_ROOT/tests/compat/configs}

"$REPO_ROOT/scripts/mkrootfs.sh" >/dev/null || die "scripts/mkrootfs.sh failed"
ROOTFS=$REPO_ROOT/bundles/busybox/rootfs

pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }
V_DOCKER=$(pkgver docker.io)
V_PODMAN=$(pkgver podman)
V_CTRD=$(pkgver containerd)
V_RUNC=$(pkgver runc)
V_CRUN=$(pkgver crun)
V_COMMON=$(pkgver golang-github-containers-common)

# ---------------------------------------------------------------------------
# Temp dir, cgroup parent, cleanup.

T=$(mktemp -d "${TMPDIR:-/tmp}/husk-capture.XXXXXX")
chmod 0711 "$T"
CAP=$T/cap
mkdir -p "$CAP" "$T/bin" "$T/log" "$T/cid" "$T/out" "$T/vol/rw" "$T/vol/ro"
echo from-host >"$T/vol/rw/in.txt"

own_cg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
[ -n "$own_cg" ] || own_cg=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
CGP="${own_cg%/}/husk-capture-$$"
mapfile -t CG_MOUNTS < <(awk '{
    for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) ~ /^cgroup2?$/) print $5; break }
}' /proc/self/mountinfo | sort -u)
# The ancestors of CGP that do not exist yet: removed again at the end.
CG_CREATED=()
for m in "${CG_MOUNTS[@]}"; do
    p=
    IFS=/ read -ra parts <<<"${CGP#/}"
    for part in "${parts[@]}"; do
        p=$p/$part
        [ -d "$m$p" ] || CG_CREATED+=("$m$p")
    done
done
RUN_CTRD_NEW=
[ -e /run/containerd ] || RUN_CTRD_NEW=1
# What the engines make outside the temp dir whatever they are told
# (dockerd: /run/docker/plugins; podman: runc's state root /run/runc;
# ip netns: /run/netns): removed again when new and empty.
RUN_DIRS_NEW=()
for d in /run/docker /run/runc /run/netns; do [ -e "$d" ] || RUN_DIRS_NEW+=("$d"); done
HAD_RUN_CONTAINERS=
[ -e /run/containers ] && HAD_RUN_CONTAINERS=yes
HAD_VAR_LIB_CONTAINERS=
[ -e /var/lib/containers ] && HAD_VAR_LIB_CONTAINERS=yes
BRIDGE=hcap$$
BRIDGE_MADE=
NETNS=husk-capture-$$
NETNS_MADE=
CTRD_PID=
DOCKERD_PID=
PODMAN_READY=

# A process of ours: its command line names the temp dir.
ours() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null | grep -qF -- "$T/"; }

cleanup() {
    local rc=$? id pid d i f
    trap - EXIT INT TERM
    set +e
    if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        for id in $(dk ps -aq 2>/dev/null); do
            timeout -k 5 60 "$DOCKER" -H "unix://$T/docker.sock" rm -f "$id" >/dev/null 2>&1
        done
        kill -TERM "$DOCKERD_PID"
        for i in $(seq 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$DOCKERD_PID" 2>/dev/null
        wait "$DOCKERD_PID" 2>/dev/null
    fi
    if [ -n "$PODMAN_READY" ]; then
        for id in $(pm ps -aq --no-trunc 2>/dev/null); do
            timeout -k 5 60 "$T/podman" rm -f -t 0 "$id" >/dev/null 2>&1
        done
        timeout -k 5 120 "$T/podman" system reset -f >/dev/null 2>&1
    fi
    if [ -n "$CTRD_PID" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
        local ns
        for ns in $(ctr -a "$T/containerd.sock" namespaces ls -q 2>/dev/null); do
            for id in $(ctr -a "$T/containerd.sock" -n "$ns" task ls -q 2>/dev/null); do
                timeout -k 5 20 ctr -a "$T/containerd.sock" -n "$ns" task kill -a -s SIGKILL "$id" >/dev/null 2>&1
                timeout -k 5 20 ctr -a "$T/containerd.sock" -n "$ns" task delete --force "$id" >/dev/null 2>&1
            done
            for id in $(ctr -a "$T/containerd.sock" -n "$ns" containers ls -q 2>/dev/null); do
                timeout -k 5 20 ctr -a "$T/containerd.sock" -n "$ns" containers delete "$id" >/dev/null 2>&1
            done
        done
        kill -TERM "$CTRD_PID"
        for i in $(seq 50); do kill -0 "$CTRD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$CTRD_PID" 2>/dev/null
        wait "$CTRD_PID" 2>/dev/null
    fi
    # Whatever outlived its engine: shims, conmon, runc, container processes.
    for f in /proc/[0-9]*; do
        pid=${f#/proc/}
        [ "$pid" = $$ ] && continue
        ours "$pid" && kill -KILL "$pid" 2>/dev/null
    done
    for d in $(for m in "${CG_MOUNTS[@]}"; do [ -d "$m$CGP" ] && find "$m$CGP" -mindepth 1 -type d; done | sort -r); do
        [ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
        if [ -f "$d/cgroup.procs" ]; then
            while read -r pid; do kill -KILL "$pid" 2>/dev/null; done <"$d/cgroup.procs"
        fi
    done
    sleep 0.3
    for m in "${CG_MOUNTS[@]}"; do
        [ -d "$m$CGP" ] && find "$m$CGP" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
        rmdir "$m$CGP" 2>/dev/null
    done
    for ((i = ${#CG_CREATED[@]} - 1; i >= 0; i--)); do rmdir "${CG_CREATED[i]}" 2>/dev/null; done
    awk -v t="$T" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo |
        sort -r | while read -r d; do umount -l "$d" 2>/dev/null; done
    [ -n "$BRIDGE_MADE" ] && ip link del "$BRIDGE" 2>/dev/null
    [ -n "$NETNS_MADE" ] && ip netns del "$NETNS" 2>/dev/null
    [ -n "$RUN_CTRD_NEW" ] && rmdir /run/containerd/s /run/containerd 2>/dev/null
    for d in "${RUN_DIRS_NEW[@]}"; do
        [ "$d" = /run/docker ] && rmdir /run/docker/plugins 2>/dev/null
        rmdir "$d" 2>/dev/null
    done
    [ -z "$HAD_RUN_CONTAINERS" ] && rmdir /run/containers/networks /run/containers 2>/dev/null
    if [ -z "$HAD_VAR_LIB_CONTAINERS" ]; then
        rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb
        rmdir /var/lib/containers/cache /var/lib/containers 2>/dev/null
    fi
    if [ "${HUSK_CAPTURE_KEEP:-0}" = 1 ]; then
        say "kept $T" >&2
    else
        rm -rf "$T"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# The wrapper, and writing cases.

sed -e "s|@CAP@|$CAP|g" -e "s|@RUNC@|$RUNC|g" >"$T/bin/runc-capture" <<'EOF'
#!/bin/sh
# runc as the engines see it (made by scripts/compat/capture.sh): on create
# or run, keep the bundle's config.json and which mount sources are files.
cap=@CAP@
echo "$*" >>"$cap/calls.log"
cmd="" id="" bundle="" skip=""
for a in "$@"; do
    if [ -n "$skip" ]; then
        [ "$skip" = bundle ] && bundle=$a
        skip=""
        continue
    fi
    case $a in
    --bundle | -b) skip=bundle ;;
    --bundle=* | -b=*) bundle=${a#*=} ;;
    --root | --log | --log-format | --criu | --rootless | --pid-file | --console-socket | --preserve-fds | --process) skip=1 ;;
    -*) ;;
    *) if [ -z "$cmd" ]; then cmd=$a; else id=$a; fi ;;
    esac
done
case $cmd in
create | run)
    cfg=${bundle:-.}/config.json
    if [ -n "$id" ] && [ -f "$cfg" ]; then
        cp "$cfg" "$cap/$id.json"
        /usr/bin/jq -r '.mounts[]?.source // empty' "$cfg" | while IFS= read -r s; do
            case $s in /*) if [ -f "$s" ]; then printf '%s\n' "$s"; fi ;; esac
        done | sort -u >"$cap/$id.files"
    fi
    ;;
esac
exec @RUNC@ "$@"
EOF
chmod 0755 "$T/bin/runc-capture"
WRAP=$T/bin/runc-capture

# shq ARG...: the arguments as one shell-quoted line, <tmp> for the temp dir.
shq() {
    local a out=""
    for a in "$@"; do
        case $a in
        "" | *[!A-Za-z0-9_./:=,@%+-]*) a="'${a//\'/\'\\\'\'}'" ;;
        esac
        out="$out $a"
    done
    printf '%s' "${out# }" | sed "s|$T|<tmp>|g"
}

REFUSED=()
WRITTEN=()
# refuse SOURCE CASE COMMAND ERRFILE: an invocation that did not run here.
refuse() {
    local msg
    msg=$(grep -v '^\s*$' "$4" 2>/dev/null | tail -n 3 | tr '\n' ' ' | cut -c1-400 | sed "s|$T|<tmp>|g")
    REFUSED+=("$1/$2: $3 -> ${msg:-no error output}")
    say "  refused: $1/$2: ${msg:-no error output}" >&2
}

# pretty IN OUT: the JSON of IN, indented, keys and values as they are.
pretty() {
    python3 -c '
import json, sys
with open(sys.argv[1]) as f:
    v = json.load(f)
with open(sys.argv[2], "w") as f:
    json.dump(v, f, indent=2, ensure_ascii=False)
    f.write("\n")
' "$1" "$2"
}

# test_time_patch CONFIG: JSON Patch for what cannot exist at test time, and
# the sentence for case.json's why. Hook binaries /proc/PID/exe (dockerd's
# libnetwork-setkey: PID is gone then, or another process) become /bin/true;
# namespace paths made for the capture (docker's <exec-root>/netns/default,
# a bind of the host's network namespace; the `ip netns add` namespace of
# podman/network-ns and ctr/with-ns-network) become /proc/self/ns/<type> (the
# runtime's own: the host's; /proc/1 is not ours to open here).
test_time_patch() {
    python3 -c '
import json, sys
cfg, tmp, netns = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
ops, why = [], []
for kind, hooks in sorted((cfg.get("hooks") or {}).items()):
    for i, h in enumerate(hooks):
        p = h.get("path", "")
        if p.startswith("/proc/") and p.endswith("/exe"):
            ops.append({"op": "replace", "path": "/hooks/%s/%d/path" % (kind, i), "value": "/bin/true"})
            why.append("the %s hook %s %s (back into the dockerd that made the config) is /bin/true at test time"
                       % (kind, p, (h.get("args") or [""])[0]))
ns_file = {"network": "net", "mount": "mnt"}
for i, n in enumerate((cfg.get("linux") or {}).get("namespaces") or []):
    p = n.get("path", "")
    if p.startswith(tmp + "/") or p == netns:
        t = ns_file.get(n["type"], n["type"])
        ops.append({"op": "replace", "path": "/linux/namespaces/%d/path" % i, "value": "/proc/self/ns/" + t})
        why.append("the %s namespace path %s existed only while capturing, so the test joins /proc/self/ns/%s"
                   % (n["type"], p.replace(tmp, "<tmp>"), t))
print(json.dumps(ops))
print("; ".join(why))
' "$1" "$T" "/run/netns/$NETNS"
}

# write_case SOURCE CASE FROM ID [WHY [PATCH]]: the capture of container ID
# as <out>/SOURCE/CASE/{config.json,case.json}.
write_case() {
    local src=$1 name=$2 from=$3 id=$4 why=${5:-} patch=${6:-[]} dir=$T/out/$1/$2
    if [ ! -f "$CAP/$id.json" ]; then
        REFUSED+=("$src/$name: the engine's command exited 0, but the wrapper saw no create for $id")
        say "  refused: $src/$name: the engine's command exited 0 without a runtime create" >&2
        return 0
    fi
    mkdir -p "$dir"
    pretty "$CAP/$id.json" "$dir/config.json"
    local tt tt_ops tt_why
    tt=$(test_time_patch "$CAP/$id.json")
    tt_ops=$(printf '%s\n' "$tt" | head -n 1)
    tt_why=$(printf '%s\n' "$tt" | tail -n +2)
    patch=$(jq -cn --argjson a "$patch" --argjson b "$tt_ops" '$a + $b')
    [ -n "$tt_why" ] && why="${why:+$why. }Patched: $tt_why"
    jq -n --arg from "$from (config.json pretty-printed)" --arg why "$why" --argjson patch "$patch" \
        --slurpfile files <(jq -R . "$CAP/$id.files") '
        {from: $from}
        + (if ($patch | length) > 0 then {patch: $patch} else {} end)
        + (if ($files | length) > 0 then {file_sources: $files} else {} end)
        + {expect: "match"}
        + (if $why != "" then {why: $why} else {} end)' >"$dir/case.json"
    WRITTEN+=("$src/$name")
}

# engine_failed SOURCE CASE FROM ERRFILE ID: the engine's command failed.
# When runc refused the captured config only for what this host cannot
# grant without CAP_SYS_RESOURCE (that capability itself, or rlimits above
# the host's hard limits), the case is kept with a patch that lowers those
# to what the host has; the invocation is recorded as refused either way.
engine_failed() {
    local src=$1 name=$2 from=$3 err=$4 id=${5:-} patch="[]" what=""
    refuse "$src" "$name" "$from" "$err"
    [ -n "$id" ] && [ -f "$CAP/$id.json" ] && [ -z "$HOST_HAS_SYS_RESOURCE" ] || return 0
    if grep -q 'unable to apply caps: operation not permitted' "$err"; then
        patch=$(sysresource_patch "$CAP/$id.json")
        what="the host's bounding set lacks CAP_SYS_RESOURCE, so the patch drops it from the process's capability sets"
    elif grep -q 'error setting rlimit type [0-9]*: operation not permitted' "$err"; then
        patch=$(rlimit_patch "$CAP/$id.json")
        what="raising a hard rlimit needs CAP_SYS_RESOURCE, which this host lacks, so the patch lowers the rlimits above this host's hard limits to those"
    fi
    [ "$patch" != "[]" ] || return 0
    write_case "$src" "$name" "$from" "$id" "runc refused this here ($(warnings "$err" | cut -c1-200)): $what" "$patch"
}

# sysresource_patch CONFIG: JSON Patch removing CAP_SYS_RESOURCE from the
# process's capability sets.
sysresource_patch() {
    jq -c '[.process.capabilities // {} | to_entries[] | .key as $set
        | .value | to_entries[] | select(.value == "CAP_SYS_RESOURCE")
        | {op: "remove", path: "/process/capabilities/\($set)/\(.key)"}]' "$1"
}

# rlimit_patch CONFIG: JSON Patch replacing each rlimit whose hard limit is
# above this process's with this process's (soft: the lower of the two).
rlimit_patch() {
    python3 -c '
import json, resource, sys
cfg = json.load(open(sys.argv[1]))
ops = []
for i, r in enumerate(cfg.get("process", {}).get("rlimits", [])):
    kind = getattr(resource, r["type"], None)
    if kind is None:
        continue
    hard = resource.getrlimit(kind)[1]
    if hard != resource.RLIM_INFINITY and r["hard"] > hard:
        ops.append({"op": "replace", "path": "/process/rlimits/%d" % i,
                    "value": {"type": r["type"], "hard": hard, "soft": min(r["soft"], hard)}})
print(json.dumps(ops))
' "$1"
}
HOST_HAS_SYS_RESOURCE=
[ $((0x$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status) >> 24 & 1)) = 1 ] && HOST_HAS_SYS_RESOURCE=1

# A config the way runc_check runs it: CONFIG with case.json's PATCH applied,
# the busybox rootfs, /bin/true (unless args keep), no terminal, the cgroup
# below ours, and the
# missing bind sources made (files for FILE_SOURCES, directories otherwise).
cat >"$T/bin/mkcheck.py" <<'EOF'
import json, os, sys

cfg_path, case_path, rootfs, cgpath, bundle = sys.argv[1:6]
with open(cfg_path) as f:
    cfg = json.load(f)
with open(case_path) as f:
    case = json.load(f)

def walk(doc, path):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    for p in parts[:-1]:
        doc = doc[int(p)] if isinstance(doc, list) else doc[p]
    return doc, parts[-1]

for op in case.get("patch", []):
    parent, key = walk(cfg, op["path"])
    if isinstance(parent, list):
        if op["op"] == "add":
            parent.insert(len(parent) if key == "-" else int(key), op["value"])
        elif op["op"] == "replace":
            parent[int(key)] = op["value"]
        else:
            del parent[int(key)]
    else:
        if op["op"] == "remove":
            del parent[key]
        else:
            parent[key] = op["value"]

cfg["root"] = {"path": rootfs, "readonly": cfg.get("root", {}).get("readonly", False)}
cfg["process"]["terminal"] = False
if case.get("args") != "keep":
    cfg["process"]["args"] = ["/bin/true"]
cfg.setdefault("linux", {})["cgroupsPath"] = cgpath
files = set(case.get("file_sources", []))
for m in cfg.get("mounts", []):
    src = m.get("source", "")
    opts = m.get("options", [])
    if (m.get("type") == "bind" or "bind" in opts or "rbind" in opts) and src.startswith("/") \
            and not os.path.exists(src):
        if src in files:
            os.makedirs(os.path.dirname(src), exist_ok=True)
            open(src, "a").close()
        else:
            os.makedirs(src, exist_ok=True)
os.makedirs(bundle, exist_ok=True)
with open(os.path.join(bundle, "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)
EOF

CHECK_N=0
CHECK_FAILED=()
# runc_check CASE_DIR: run the case (config.json, or case.json's generate)
# under plain runc as above; prints ok or the error.
runc_check() {
    local dir=$1 name=${1#"$T/out/"} b cfg
    CHECK_N=$((CHECK_N + 1))
    b=$T/check/$CHECK_N
    mkdir -p "$b/gen"
    cfg=$dir/config.json
    if [ ! -f "$cfg" ]; then
        local -a gen
        mapfile -t gen < <(jq -r '.generate[]' "$dir/case.json")
        (cd "$b/gen" && "${gen[@]}") || { CHECK_FAILED+=("$name: ${gen[*]} failed"); return 0; }
        cfg=$b/gen/config.json
    fi
    python3 "$T/bin/mkcheck.py" "$cfg" "$dir/case.json" "$ROOTFS" "$CGP/check/$CHECK_N" "$b/bundle" ||
        { CHECK_FAILED+=("$name: mkcheck.py failed"); return 0; }
    if timeout -k 5 60 "$RUNC" --root "$T/runc-check" run -b "$b/bundle" "husk-capture-check-$CHECK_N" \
        </dev/null >"$b/out" 2>"$b/err"; then
        say "  runc check ok: $name" >&2
    else
        CHECK_FAILED+=("$name: $(tr '\n' ' ' <"$b/err" | cut -c1-300)")
        say "  runc check FAILED: $name: $(tr '\n' ' ' <"$b/err" | cut -c1-300)" >&2
        "$RUNC" --root "$T/runc-check" delete -f "husk-capture-check-$CHECK_N" >/dev/null 2>&1 || true
    fi
}

# publish SOURCE: check each case under plain runc, then replace
# <out>/SOURCE with what this run wrote.
publish() {
    [ -d "$T/out/$1" ] || { say "  $1: nothing captured, $OUT/$1 left as it was" >&2; return 0; }
    local d
    for d in "$T/out/$1"/*/; do runc_check "${d%/}"; done
    mkdir -p "$OUT"
    rm -rf "${OUT:?}/$1"
    cp -r "$T/out/$1" "$OUT/$1"
    chown_back_to_invoker "$OUT/$1"
    say "  $1: $(find "$OUT/$1" -name case.json | wc -l) cases in $OUT/$1" >&2
}

# warnings ERRFILE: the engine's warnings (stderr of a command that worked).
warnings() {
    grep -v '^\s*$' "$1" 2>/dev/null | tr '\n' ' ' | sed "s|$T|<tmp>|g; s/ *$//" | cut -c1-400
}

# ---------------------------------------------------------------------------
# containerd (for ctr, and as dockerd's containerd).

start_containerd() {
    [ -n "$CTRD_PID" ] && return 0
    mkdir -p "$T/ctrd/root" "$T/ctrd/state" "$T/ctrd/opt" "$T/fifo"
    cat >"$T/ctrd/config.toml" <<EOF
version = 2
root = "$T/ctrd/root"
state = "$T/ctrd/state"
oom_score = 0
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$T/containerd.sock"

[ttrpc]
  address = "$T/containerd.sock.ttrpc"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$T/ctrd/opt"
EOF
    containerd --config "$T/ctrd/config.toml" >"$T/log/containerd.log" 2>&1 &
    CTRD_PID=$!
    local i
    for i in $(seq 100); do
        ctr -a "$T/containerd.sock" version >/dev/null 2>&1 && return 0
        kill -0 "$CTRD_PID" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$T/log/containerd.log" >&2
    die "containerd did not start"
}

# ---------------------------------------------------------------------------
# docker

dk() { timeout -k 5 "$TMO" "$DOCKER" -H "unix://$T/docker.sock" "$@"; }
DK_IMG=husk-capture/busybox

start_dockerd() {
    start_containerd
    # A private bridge: the default network as docker makes it (a network
    # namespace set up by the libnetwork-setkey prestart hook), without
    # docker0 or iptables rules. Falls back to --bridge=none.
    local bridge_opt=(--bridge=none)
    if ip link add "$BRIDGE" type bridge 2>/dev/null; then
        BRIDGE_MADE=1
        if ip addr add 10.213.$(($$ % 250)).1/24 dev "$BRIDGE" && ip link set "$BRIDGE" up; then
            bridge_opt=(--bridge "$BRIDGE")
        fi
    fi
    echo '{}' >"$T/daemon.json"
    DOCKERD_ARGS=(--config-file "$T/daemon.json" --data-root "$T/docker" --exec-root "$T/dexec"
        --pidfile "$T/dockerd.pid" -H "unix://$T/docker.sock" --containerd "$T/containerd.sock"
        --containerd-namespace husk-capture-docker --containerd-plugins-namespace husk-capture-docker-plugins
        --iptables=false --ip6tables=false --ip-masq=false --userland-proxy=false "${bridge_opt[@]}"
        --storage-driver vfs --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "$CGP/docker"
        --add-runtime "capture=$WRAP" --default-runtime capture)
    "$DOCKERD" "${DOCKERD_ARGS[@]}" >"$T/log/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    local i
    for i in $(seq 300); do
        dk version >/dev/null 2>&1 && break
        kill -0 "$DOCKERD_PID" 2>/dev/null || break
        sleep 0.1
    done
    if ! dk version >/dev/null 2>&1; then
        tail -n 20 "$T/log/dockerd.log" >&2
        die "dockerd did not start"
    fi
    tar -C "$ROOTFS" -c . | dk import -c 'CMD ["sh"]' \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$DK_IMG" \
        >/dev/null 2>"$T/log/docker-import.log" || { cat "$T/log/docker-import.log" >&2; die "docker import failed"; }
}

# dk_case NAME [RUN OPTION...]: docker run --rm OPTIONS IMAGE true.
dk_case() {
    local name=$1
    shift
    local cid=$T/cid/docker-$name err=$T/log/docker-$name.err
    local -a cmd=("$DOCKER" -H "unix://$T/docker.sock" run --rm --cidfile "$cid" "$@" "$DK_IMG" true)
    local show
    show="docker -H unix://<tmp>/docker.sock $(shq "${cmd[@]:3}")"
    say "docker/$name" >&2
    if timeout -k 5 "$TMO" "${cmd[@]}" </dev/null >/dev/null 2>"$err"; then
        write_case docker "$name" "docker.io $V_DOCKER (Debian 12), private dockerd (scripts/compat/capture.sh), runc $V_RUNC: $show" \
            "$(cat "$cid")" "$(w=$(warnings "$err"); [ -n "$w" ] && echo "docker warned: $w")"
    else
        engine_failed docker "$name" "docker.io $V_DOCKER (Debian 12), private dockerd (scripts/compat/capture.sh), runc $V_RUNC: $show" \
            "$err" "$(cat "$cid" 2>/dev/null)"
    fi
}

capture_docker() {
    say "== docker $V_DOCKER" >&2
    start_dockerd
    dk_case plain
    dk_case memory -m 64m --memory-swap 128m
    dk_case memory-reservation -m 64m --memory-reservation 32m
    dk_case kernel-memory -m 64m --kernel-memory 32m
    dk_case cpus --cpus 0.5 --cpu-shares 512
    dk_case cpuset --cpuset-cpus 0
    dk_case pids-limit --pids-limit 50
    dk_case user -u 1000:1000
    dk_case read-only --read-only
    dk_case tmpfs --tmpfs /scratch:size=16m
    dk_case volume -v "$T/vol/rw:/data" -v "$T/vol/ro:/ro:ro"
    dk_case privileged --privileged
    dk_case cap-drop-all --cap-drop ALL
    dk_case cap-add --cap-drop ALL --cap-add NET_BIND_SERVICE
    dk_case no-new-privileges --security-opt no-new-privileges
    dk_case seccomp-unconfined --security-opt seccomp=unconfined
    dk_case network-none --network none
    dk_case network-host --network host
    dk_case pid-host --pid host
    dk_case ipc-host --ipc host
    dk_case ulimit --ulimit nofile=1024:2048
    dk_case shm-size --shm-size 32m
    dk_case sysctl --sysctl net.ipv4.ip_forward=1
    dk_case init --init
    dk_case env-workdir-hostname -w /tmp -e FOO=bar -h myhost
    dk_case device --device /dev/null:/dev/xnull
    dk_case oom-score-adj --oom-score-adj 100
    dk_case blkio-weight --blkio-weight 300
    dk_case userns-host --userns host
    publish docker
}

# ---------------------------------------------------------------------------
# podman

pm() { timeout -k 5 "$TMO" "$T/podman" "$@"; }
PM_IMG=localhost/husk-capture/busybox

# podman_conf FILE [EXTRA [containers] LINES]: a private containers.conf.
podman_conf() {
    cat >"$1" <<EOF
[containers]
$2
netns = "none"
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
pull_policy = "never"
runtime = "runc"
runtime_supports_json = ["runc"]

[engine.runtimes]
runc = ["$WRAP"]

[network]
network_config_dir = "$T/pm/networks"
EOF
}

start_podman() {
    mkdir -p "$T/pm/root" "$T/pm/runroot" "$T/pm/tmp" "$T/pm/networks"
    # Podman's default RLIMIT_NOFILE (1048576, as root) is above this
    # machine's hard limit, which runc cannot raise without CAP_SYS_RESOURCE:
    # no default ulimits, except for the default-ulimits case (conf-stock).
    podman_conf "$T/pm/containers.conf" 'default_ulimits = []'
    podman_conf "$T/pm/containers-stock.conf" ''
    cat >"$T/pm/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$T/pm/runroot"
graphroot = "$T/pm/root"
EOF
    echo 'unqualified-search-registries = []' >"$T/pm/registries.conf"
    cat >"$T/podman" <<EOF
#!/bin/sh
export CONTAINERS_CONF=\${CONTAINERS_CONF:-$T/pm/containers.conf}
export CONTAINERS_STORAGE_CONF=$T/pm/storage.conf
export CONTAINERS_REGISTRIES_CONF=$T/pm/registries.conf
exec podman --root $T/pm/root --runroot $T/pm/runroot --tmpdir $T/pm/tmp \\
    --storage-driver vfs --cgroup-manager cgroupfs "\$@"
EOF
    chmod 0755 "$T/podman"
    PODMAN_READY=1
    tar -C "$ROOTFS" -c . | pm import - "$PM_IMG" >/dev/null 2>"$T/log/podman-import.log" ||
        { cat "$T/log/podman-import.log" >&2; die "podman import failed"; }
}

# pm_case NAME [RUN OPTION...]: podman run --rm OPTIONS IMAGE true.
# PM_CONF=FILE: another containers.conf.
pm_case() {
    local name=$1
    shift
    local cid=$T/cid/podman-$name err=$T/log/podman-$name.err
    local -a cmd=(run --rm --cidfile "$cid" --cgroup-parent "$CGP/podman" "$@" "$PM_IMG" true)
    local show conf=${PM_CONF:-$T/pm/containers.conf} note="containers.conf: cgroupfs, netns none, no default_ulimits"
    [ "$conf" = "$T/pm/containers.conf" ] || note="containers.conf: cgroupfs, netns none, default ulimits"
    show="podman $(shq "${cmd[@]}")"
    say "podman/$name" >&2
    if CONTAINERS_CONF=$conf pm "${cmd[@]}" </dev/null >/dev/null 2>"$err"; then
        write_case podman "$name" "podman $V_PODMAN (Debian 12), private store (vfs) and $note (scripts/compat/capture.sh), conmon, runc $V_RUNC: $show" \
            "$(cat "$cid")" "$(w=$(warnings "$err"); [ -n "$w" ] && echo "podman warned: $w")"
    else
        engine_failed podman "$name" "podman $V_PODMAN (Debian 12), private store (vfs) and $note (scripts/compat/capture.sh), conmon, runc $V_RUNC: $show" \
            "$err" "$(cat "$cid" 2>/dev/null)"
    fi
}

capture_podman() {
    say "== podman $V_PODMAN" >&2
    start_podman
    pm_case plain
    PM_CONF=$T/pm/containers-stock.conf pm_case default-ulimits
    pm_case memory -m 64m --memory-swap 128m
    pm_case memory-reservation -m 64m --memory-reservation 32m
    pm_case cpus --cpus 0.5 --cpu-shares 512
    pm_case cpuset --cpuset-cpus 0
    pm_case pids-limit --pids-limit 50
    pm_case user -u 1000:1000
    pm_case read-only --read-only
    pm_case tmpfs --tmpfs /scratch:size=16m
    pm_case volume -v "$T/vol/rw:/data" -v "$T/vol/ro:/ro:ro"
    pm_case privileged --privileged
    pm_case cap-drop-all --cap-drop ALL
    pm_case cap-add --cap-drop ALL --cap-add NET_BIND_SERVICE
    pm_case no-new-privileges --security-opt no-new-privileges
    pm_case seccomp-unconfined --security-opt seccomp=unconfined
    pm_case network-none --network none
    pm_case network-host --network host
    if make_netns; then
        pm_case network-ns --network "ns:/run/netns/$NETNS"
    fi
    pm_case pid-host --pid host
    pm_case ipc-host --ipc host
    pm_case ulimit --ulimit nofile=1024:2048
    pm_case ulimit-nproc --ulimit nofile=1024:2048 --ulimit nproc=1024:2048
    pm_case shm-size --shm-size 32m
    pm_case sysctl --sysctl net.ipv4.ip_forward=1
    pm_case init --init
    pm_case env-workdir-hostname -w /tmp -e FOO=bar -h myhost
    pm_case device --device /dev/null:/dev/xnull
    pm_case oom-score-adj --oom-score-adj 100
    pm_case systemd-always --systemd always
    pm_case userns-keep-id --userns keep-id
    pm_case uidmap --uidmap 0:100000:65536 --gidmap 0:100000:65536
    pm_case userns-auto --userns auto
    publish podman
}

# ---------------------------------------------------------------------------
# ctr

CTR_NS=husk-capture
CTR_IMG=husk.capture/busybox:latest
ctrc() { timeout -k 5 "$TMO" ctr -a "$T/containerd.sock" -n "$CTR_NS" "$@"; }

make_netns() {
    [ -n "$NETNS_MADE" ] && return 0
    ip netns add "$NETNS" 2>/dev/null && NETNS_MADE=1
}

start_ctr() {
    start_containerd
    "$REPO_ROOT/scripts/e2e/containerd/mkimage.sh" "$ROOTFS" "$T/image.tar" || die "mkimage.sh failed"
    ctrc images import --base-name "${CTR_IMG%:*}" "$T/image.tar" >"$T/log/ctr-import.log" 2>&1 ||
        { cat "$T/log/ctr-import.log" >&2; die "ctr images import failed"; }
    rm -f "$T/image.tar"
}

# ctr_case NAME [RUN OPTION...]: ctr run --rm (runc v2 shim, the wrapper as
# --runc-binary, a cgroup below ours) OPTIONS IMAGE ID true.
ctr_case() {
    local name=$1
    shift
    local id=hcap-$name err=$T/log/ctr-$name.err
    local -a cmd=(run --rm --runtime io.containerd.runc.v2 --runc-binary "$WRAP" --runc-root "$T/ctr-runc"
        --fifo-dir "$T/fifo" --snapshotter native --cgroup "$CGP/ctr/$id" "$@" "$CTR_IMG" "$id" true)
    local from
    from="containerd $V_CTRD (Debian 12), private containerd (scripts/compat/capture.sh), runc v2 shim, runc $V_RUNC: ctr -a <tmp>/containerd.sock -n $CTR_NS $(shq "${cmd[@]}")"
    say "ctr/$name" >&2
    if ctrc "${cmd[@]}" </dev/null >"$T/log/ctr-$name.out" 2>"$err"; then
        write_case ctr "$name" "$from" "$id" "$(w=$(warnings "$err"); [ -n "$w" ] && echo "ctr warned: $w")"
    else
        ctrc task delete --force "$id" >/dev/null 2>&1 || true
        ctrc containers delete "$id" >/dev/null 2>&1 || true
        engine_failed ctr "$name" "$from" "$err" "$id"
    fi
}

capture_ctr() {
    say "== ctr (containerd $V_CTRD)" >&2
    start_ctr
    ctr_case plain
    ctr_case memory-limit --memory-limit 67108864
    ctr_case cpus --cpus 0.5
    ctr_case cpu-shares --cpu-shares 512
    ctr_case cpu-quota --cpu-quota 50000 --cpu-period 100000
    ctr_case privileged --privileged
    ctr_case read-only --read-only
    ctr_case net-host --net-host
    if make_netns; then
        ctr_case with-ns-network --with-ns "network:/run/netns/$NETNS"
    fi
    ctr_case cap-drop --cap-drop CAP_CHOWN --cap-drop CAP_NET_RAW
    ctr_case cap-add --cap-add CAP_SYS_ADMIN
    ctr_case allow-new-privs --allow-new-privs
    ctr_case seccomp --seccomp
    ctr_case env-cwd --env FOO=bar --cwd /tmp
    ctr_case mount --mount "type=bind,src=$T/vol/rw,dst=/data,options=rbind:rw" \
        --mount "type=bind,src=$T/vol/ro,dst=/ro,options=rbind:ro"
    ctr_case annotation --annotation org.example.note=hello --label org.example.label=1
    ctr_case device --device /dev/null
    # Not here: --uidmap (ctr 1.6 then ignores --runc-binary and --runc-root,
    # so the shim runs the system runc with root /run/containerd/runc/<ns>:
    # nothing to capture, and state outside the temp dir), --user (no such
    # flag in ctr 1.6), --cap-drop ALL ("capabilities must be specified with
    # 'CAP_' prefix"), --tty (needs a terminal).
    ctr_case rootfs-propagation --rootfs-propagation shared
    publish ctr
}

# ---------------------------------------------------------------------------
# crun-spec: generated at test time.

# gen_case SOURCE CASE CASE_JSON: write case.json only (no config.json).
gen_case() {
    mkdir -p "$T/out/$1/$2"
    printf '%s\n' "$3" | jq . >"$T/out/$1/$2/case.json"
    WRITTEN+=("$1/$2")
}

capture_crun_spec() {
    say "== crun-spec (crun $V_CRUN)" >&2
    local rootless
    for rootless in "" --rootless; do
        (cd "$T" && rm -f config.json && crun spec $rootless && rm -f config.json) ||
            { REFUSED+=("crun-spec: crun spec $rootless failed"); continue; }
    done
    gen_case crun-spec spec "$(jq -n --arg v "$V_CRUN" '{from: "crun \($v) (Debian 12): crun spec",
        generate: ["crun", "spec"], expect: "match",
        why: "crun'"'"'s default config (ociVersion 1.0.0, its own mount and masked path lists)"}')"
    # crun spec --rootless has a user namespace but no mappings (crun then
    # maps the caller to 0 itself); runc refuses that ("User namespaces
    # enabled, but no uid mappings found"), so the patch adds crun's mapping
    # for a caller that is root, as the test runs.
    gen_case crun-spec spec-rootless "$(jq -n --arg v "$V_CRUN" '{from: "crun \($v) (Debian 12): crun spec --rootless",
        generate: ["crun", "spec", "--rootless"],
        patch: [{op: "add", path: "/linux/uidMappings", value: [{containerID: 0, hostID: 0, size: 1}]},
                {op: "add", path: "/linux/gidMappings", value: [{containerID: 0, hostID: 0, size: 1}]}],
        expect: "match",
        why: "crun'"'"'s rootless template: user namespace, no cgroups resources, /sys/fs/cgroup ro. Unpatched it has no uidMappings/gidMappings (crun maps the caller to 0 when there are none) and runc 1.1.5 refuses it: User namespaces enabled, but no uid mappings found. The patch adds the mapping crun makes for a root caller"}')"
    publish crun-spec
}

# ---------------------------------------------------------------------------
# seccomp: the engines' default profiles, and a minimal one found here.

# seccomp_from_capture SOURCE_CASE_DIR NAME FROM: its linux.seccomp in a
# `runc spec` base (patch), as seccomp/NAME.
seccomp_from_capture() {
    local cfg=$OUT/$1/config.json
    [ -f "$cfg" ] || { REFUSED+=("seccomp/$2: no $1 capture to take the profile from"); return 0; }
    jq -e '.linux.seccomp' "$cfg" >/dev/null || { REFUSED+=("seccomp/$2: $1 has no linux.seccomp"); return 0; }
    mkdir -p "$T/out/seccomp/$2"
    python3 -c '
import json, sys
cfg = json.load(open(sys.argv[1]))
case = {
    "from": sys.argv[2],
    "generate": ["runc", "spec"],
    "patch": [
        {"op": "replace", "path": "/process/terminal", "value": False},
        {"op": "add", "path": "/linux/seccomp", "value": cfg["linux"]["seccomp"]},
    ],
    "expect": "match",
    "why": sys.argv[3],
}
with open(sys.argv[4], "w") as f:
    json.dump(case, f, indent=2, ensure_ascii=False)
    f.write("\n")
' "$cfg" "$3" "the profile as the engine sends it to the runtime (OCI form), on runc spec's process and capabilities" \
        "$T/out/seccomp/$2/case.json"
    WRITTEN+=("seccomp/$2")
}

# The syscalls runc's init makes once the filter is loaded (from the line
# that loads it: prctl(PR_SET_SECCOMP) or seccomp(SECCOMP_SET_MODE_FILTER)
# with a program), up to the execve, and what the container process makes
# after it: lines of threads named runc:[2:INIT] (the init) and true.
cat >"$T/bin/after-seccomp.py" <<'EOF'
import re, sys

line_re = re.compile(r"^(\d+)<([^>]*)> (.*)$")
call_re = re.compile(r"^([a-z_0-9]+)\(")
names, loaded = set(), False
for line in open(sys.argv[1], errors="replace"):
    m = line_re.match(line.rstrip("\n"))
    if not m:
        continue
    comm, rest = m.group(2), m.group(3)
    if comm not in ("runc:[2:INIT]", "true"):
        continue
    if not loaded:
        if rest.startswith("prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER") or (
                rest.startswith("seccomp(SECCOMP_SET_MODE_FILTER") and "NULL" not in rest.split(")")[0]):
            loaded = True
        continue
    c = call_re.match(rest)
    if c:
        names.add(c.group(1))
if not loaded:
    sys.exit("no seccomp filter load in " + sys.argv[1])
print("\n".join(sorted(names)))
EOF

# The syscalls the kernel logged for SCMP_ACT_LOG (audit type 1326, action
# 0x7ffc0000) of runc's init or of true, in the kernel log on stdin (from
# uptime SINCE on), by name (libseccomp resolves the numbers).
cat >"$T/bin/logged-syscalls.py" <<'EOF'
import ctypes, re, sys

lib = ctypes.CDLL("libseccomp.so.2")
lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_char_p
lib.seccomp_syscall_resolve_num_arch.argtypes = [ctypes.c_uint32, ctypes.c_int]
rec = re.compile(r'^\[ *([0-9.]+)\] .*type=1326 .*comm="(runc:\[2:INIT\]|true)" .*syscall=(\d+) .*code=0x7ffc0000')
since = float(sys.argv[1])
names = set()
for line in sys.stdin:
    m = rec.search(line)
    if m and float(m.group(1)) >= since:
        name = lib.seccomp_syscall_resolve_num_arch(0, int(m.group(3)))
        names.add(name.decode() if name else "__NR_" + m.group(3))
print("\n".join(sorted(names)))
EOF

# min_bundle DIR NNP PROFILE_FILE: a `runc spec` bundle running /bin/true
# from the busybox rootfs with that profile.
min_bundle() {
    rm -rf "$1"
    mkdir -p "$1"
    (cd "$1" && "$RUNC" spec)
    jq --arg r "$ROOTFS" --arg cg "$CGP/seccomp/$(basename "$1")" --argjson nnp "$2" --slurpfile p "$3" '
        .root.path = $r | .process.terminal = false | .process.args = ["/bin/true"]
        | .process.noNewPrivileges = $nnp | .linux.cgroupsPath = $cg | .linux.seccomp = $p[0]' \
        "$1/config.json" >"$1/config.json.new"
    mv "$1/config.json.new" "$1/config.json"
}
# min_gone BUNDLE_DIR ID: runc's container ID and whatever is left in the
# bundle's cgroup, gone (a denied call can leave the init spinning).
min_gone() {
    "$RUNC" --root "$T/runc-min" delete -f "$2" >/dev/null 2>&1 || true
    local m d pid
    for m in "${CG_MOUNTS[@]}"; do
        d=$m$CGP/seccomp/$(basename "$1")
        [ -f "$d/cgroup.procs" ] || continue
        while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$d/cgroup.procs"
    done
    for m in "${CG_MOUNTS[@]}"; do
        d=$m$CGP/seccomp/$(basename "$1")
        [ -d "$d" ] || continue
        for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
    done
    "$RUNC" --root "$T/runc-min" delete -f "$2" >/dev/null 2>&1 || true
}
MIN_N=0
# min_run NNP PROFILE_FILE: runc run of that bundle; status 0 if /bin/true ran.
min_run() {
    MIN_N=$((MIN_N + 1))
    min_bundle "$T/min/b$MIN_N" "$1" "$2"
    local rc=0
    timeout -k 5 20 "$RUNC" --root "$T/runc-min" run -b "$T/min/b$MIN_N" "hcap-min-$MIN_N" \
        </dev/null >"$T/min/b$MIN_N.out" 2>&1 || rc=$?
    min_gone "$T/min/b$MIN_N" "hcap-min-$MIN_N"
    rm -rf "$T/min/b$MIN_N"
    return "$rc"
}
# profile NAMES_FILE [LEAVE_OUT [DEFAULT]]: default deny (EPERM; or
# DEFAULT: SCMP_ACT_LOG) allowing those names.
profile() {
    grep -vxF -- "${2:-/}" "$1" | jq -R . | jq -s --arg d "${3:-SCMP_ACT_ERRNO}" '
        {defaultAction: $d} + (if $d == "SCMP_ACT_ERRNO" then {defaultErrnoRet: 1} else {} end)
        + {syscalls: [{names: ., action: "SCMP_ACT_ALLOW"}]}'
}

MIN_TRACES=${HUSK_CAPTURE_MIN_TRACES:-5}
MIN_RUNS=${HUSK_CAPTURE_MIN_RUNS:-50}
MIN_ROUND_RUNS=${HUSK_CAPTURE_MIN_ROUND_RUNS:-40}
minimal_case() {
    local name=$1 nnp=$2 i s
    ADDED_BY_ROUNDS=""
    local d=$T/min/$name
    mkdir -p "$d"
    say "seccomp/$name: tracing runc ($MIN_TRACES runs, noNewPrivileges $nnp)" >&2
    echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["acct"], "action": "SCMP_ACT_ERRNO"}]}' >"$d/trace-profile.json"
    : >"$d/all"
    for i in $(seq "$MIN_TRACES"); do
        min_bundle "$d/tb" "$nnp" "$d/trace-profile.json"
        timeout -s KILL 60 strace -f -Y -qq -o "$d/strace.$i" "$RUNC" --root "$T/runc-min" run -b "$d/tb" "hcap-trace-$name-$i" \
            </dev/null >/dev/null 2>"$d/trace.err" || {
            min_gone "$d/tb" "hcap-trace-$name-$i"
            REFUSED+=("seccomp/$name: runc under strace failed: $(head -c 300 "$d/trace.err")")
            return 0
        }
        min_gone "$d/tb" "hcap-trace-$name-$i"
        python3 "$T/bin/after-seccomp.py" "$d/strace.$i" >>"$d/all" ||
            { REFUSED+=("seccomp/$name: no filter load seen by strace"); return 0; }
    done
    sort -u "$d/all" >"$d/names"
    # What the traces did not catch (under strace the timing differs: a
    # signal the init's Go runtime handles, then rt_sigreturn, say): rounds
    # of MIN_ROUND_RUNS plain runs with the profile's names allowed and
    # SCMP_ACT_LOG for the rest; what the kernel logs for the init or true
    # is added. Until a round logs nothing new.
    local round added m
    for round in 1 2 3 4 5 6; do
        profile "$d/names" / SCMP_ACT_LOG >"$d/log-profile.json"
        # (by time: the kernel's ring buffer may be full, its line count fixed)
        m=$(cut -d' ' -f1 /proc/uptime)
        for i in $(seq "$MIN_ROUND_RUNS"); do
            min_run "$nnp" "$d/log-profile.json" || true
        done
        added=$(dmesg | python3 "$T/bin/logged-syscalls.py" "$m" | grep -vxF -f "$d/names" || true)
        [ -n "$added" ] || break
        say "  round $round: logged, not allowed yet: $(echo "$added" | tr '\n' ' ')" >&2
        ADDED_BY_ROUNDS="${ADDED_BY_ROUNDS:+$ADDED_BY_ROUNDS }$(echo "$added" | paste -sd ' ')"
        printf '%s\n' "$added" >>"$d/names"
        sort -u -o "$d/names" "$d/names"
    done
    profile "$d/names" >"$d/profile.json"
    local fails=0
    for i in $(seq "$MIN_RUNS"); do
        min_run "$nnp" "$d/profile.json" || fails=$((fails + 1))
    done
    say "  $(wc -l <"$d/names") syscalls: $(tr '\n' ' ' <"$d/names"); $MIN_RUNS runs, $fails failed" >&2
    if [ "$fails" -gt 0 ]; then
        REFUSED+=("seccomp/$name: the traced set ($(tr '\n' ' ' <"$d/names")) failed $fails of $MIN_RUNS runs")
        return 0
    fi
    # Which of them runc and /bin/true cannot do without: 3 runs each.
    local needed="" spare="" all=()
    mapfile -t all <"$d/names"
    for s in "${all[@]}"; do
        profile "$d/names" "$s" >"$d/without.json"
        if min_run "$nnp" "$d/without.json" && min_run "$nnp" "$d/without.json" && min_run "$nnp" "$d/without.json"; then
            spare="$spare $s"
        else
            needed="$needed $s"
        fi
    done
    say "  needed:${needed:- none}; not needed in 3 runs:${spare:- none}" >&2
    [ -n "$needed" ] || { REFUSED+=("seccomp/$name: removing any one syscall still worked"); return 0; }
    mkdir -p "$T/out/seccomp/$name"
    python3 -c '
import json, sys
profile = json.load(open(sys.argv[1]))
case = {
    "from": sys.argv[2],
    "generate": ["runc", "spec"],
    "patch": [
        {"op": "replace", "path": "/process/terminal", "value": False},
        {"op": "replace", "path": "/process/args", "value": ["/bin/true"]},
        {"op": "replace", "path": "/process/noNewPrivileges", "value": sys.argv[3] == "true"},
        {"op": "add", "path": "/linux/seccomp", "value": profile},
    ],
    "args": "keep",
    "expect": "match",
    "why": sys.argv[4],
}
with open(sys.argv[5], "w") as f:
    json.dump(case, f, indent=2)
    f.write("\n")
' "$d/profile.json" \
        "found on this host: strace -f of runc $V_RUNC (libseccomp $("$RUNC" --version | awk '/^libseccomp/ { print $2 }')) running a runc spec bundle with noNewPrivileges $nnp and /bin/true (static busybox $(pkgver busybox-static)), $MIN_TRACES traces with an allow-all filter: the syscalls runc's init makes after loading the filter up to its execve, and those of /bin/true; then rounds of $MIN_ROUND_RUNS runs with SCMP_ACT_LOG for the rest, adding what the kernel logged for the init or true (${ADDED_BY_ROUNDS:-nothing}); default deny (SCMP_ACT_ERRNO, defaultErrnoRet 1, native architecture only); then $MIN_RUNS plain runs with runc all passed (scripts/compat/capture.sh)" \
        "$nnp" \
        "runc's init must fit in what it lets the container do once the filter is loaded (args keep: the probe would need more syscalls, so /bin/true runs). Without any one of:${needed} runc run failed here; without any one of:${spare:- (none)} it still worked 3 times (allowed anyway: runc or the Go runtime made them in a trace)" \
        "$T/out/seccomp/$name/case.json"
    WRITTEN+=("seccomp/$name")
}

capture_seccomp() {
    say "== seccomp" >&2
    seccomp_from_capture docker/plain docker-default \
        "docker.io $V_DOCKER (Debian 12): the default seccomp profile as dockerd sent it, linux.seccomp of docker/plain/config.json (docker run --rm busybox true), in a runc $V_RUNC runc spec base"
    seccomp_from_capture podman/plain podman-default \
        "podman $V_PODMAN (Debian 12), golang-github-containers-common $V_COMMON (/usr/share/containers/seccomp.json, docker's profile format): the OCI form podman sent, linux.seccomp of podman/plain/config.json (podman run --rm busybox true), in a runc $V_RUNC runc spec base"
    seccomp_from_capture ctr/seccomp containerd-default \
        "containerd $V_CTRD (Debian 12): containerd's default profile, linux.seccomp of ctr/seccomp/config.json (ctr run --seccomp), in a runc $V_RUNC runc spec base"
    minimal_case runc-minimal-nnp true
    minimal_case runc-minimal false
    publish seccomp
}

# ---------------------------------------------------------------------------
# Main.

for src in "${ALL_SOURCES[@]}"; do
    wants "$src" || continue
    "capture_${src//-/_}"
done

say "" >&2
say "written: ${#WRITTEN[@]} cases (sources: ${SOURCES[*]})" >&2
say "refused here (${#REFUSED[@]}):" >&2
for r in "${REFUSED[@]}"; do say "  $r" >&2; done
say "standalone runc check: $CHECK_N run, ${#CHECK_FAILED[@]} failed" >&2
for r in "${CHECK_FAILED[@]}"; do say "  $r" >&2; done
