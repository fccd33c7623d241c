#!/usr/bin/env bash
# Demo: seccomp. A deny-list profile makes the kernel answer mkdir(2) with
# EPERM for the container, root or not, while every other system call works.
# Without the profile the same mkdir succeeds.
#
#   ./scripts/demo-seccomp.sh
#
# Uses bundles/demos/seccomp (its README.md explains the config). Needs
# root (re-runs itself with sudo) and cargo, or HUSK_BIN=/path/to/husk.
set -eu
# shellcheck source=scripts/demo-lib.sh
. "$(dirname "$0")/demo-lib.sh"

demo_setup seccomp
note "bundle: $bundle (root.path ../../busybox/rootfs)"
demo_tmp seccomp off

# ---------------------------------------------------------------------------
heading "1. The profile: allow everything except mkdir"
jq '.linux.seccomp' "$bundle/config.json" | sed 's/^/    /'
note "husk compiles this with libseccomp into a BPF program and loads it as the"
note "last step before exec (noNewPrivileges is set). From then on the kernel"
note "runs the filter on every system call the container makes."

# ---------------------------------------------------------------------------
heading "2. With the profile"
run_it "$id" "$bundle"
note "Seccomp: 2 means \"filter mode\". touch (openat) is allowed; mkdir never"
note "reaches the filesystem: the filter returns errnoRet 1 = EPERM, \"Operation"
note "not permitted\", although the process is root and /tmp is a writable tmpfs."

# ---------------------------------------------------------------------------
heading "3. The same container without linux.seccomp"
jq --arg r "$rootfs" '.root.path = $r | del(.linux.seccomp)' \
    "$bundle/config.json" >"$tmp/bundle/config.json"
run_it "$id-off" "$tmp/bundle"
note "Seccomp: 0 (no filter) and mkdir works: the profile alone made the difference."

say ""
say "Done: seccomp narrows the kernel's system call interface, call by call."
