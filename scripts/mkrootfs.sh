#!/usr/bin/env bash
# Build a tiny busybox root filesystem for husk's example bundle and tests.
#
#   scripts/mkrootfs.sh [BUNDLE_DIR]      (default: <repo>/bundles/busybox)
#
# Makes BUNDLE_DIR/rootfs: a static busybox with one symlink per applet,
# the directories a container expects, and minimal /etc files (root, nobody,
# and a user "demo" with uid 1000). Needs a static busybox; installs Debian's
# busybox-static when /bin/busybox is missing or dynamically linked.
# Safe to run again: it only changes what is missing or different, and is
# fast when the rootfs is already complete.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

bundle=${1:-$REPO_ROOT/bundles/busybox}
rootfs=$bundle/rootfs
host_busybox=/bin/busybox

if ! is_static_elf "$host_busybox"; then
    apt_install_missing busybox-static
    # busybox-static is installed but a dynamic busybox still wins (the two
    # packages conflict, so this only happens on an odd system).
    if ! is_static_elf "$host_busybox"; then
        if [ "$(id -u)" -eq 0 ]; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall \
                -o Dpkg::Use-Pty=0 busybox-static >/dev/null
        fi
        is_static_elf "$host_busybox" || die "$host_busybox is not a static binary"
    fi
fi

mkdir -p "$rootfs"
cd "$rootfs"

# Directories. Mount points (proc, sys, dev, tmp) must exist because the
# container's root is mounted read-only and the runtime cannot create them.
mkdir -p bin sbin usr/bin proc sys dev tmp etc root home/demo
chmod 1777 tmp
chmod 0700 root

# The binary itself: copy only when it differs.
if ! cmp -s "$host_busybox" bin/busybox; then
    cp "$host_busybox" bin/busybox.tmp
    chmod 0755 bin/busybox.tmp
    mv -f bin/busybox.tmp bin/busybox
fi

# One symlink per applet, all pointing at "busybox" in the same directory.
for applet in $(bin/busybox --list); do
    case $applet in busybox | */*) continue ;; esac
    [ -L "bin/$applet" ] && continue
    ln -sfn busybox "bin/$applet"
done

# write_file PATH CONTENT: write only if the content differs.
write_file() {
    if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then
        printf '%s\n' "$2" >"$1.tmp"
        chmod 0644 "$1.tmp"
        mv -f "$1.tmp" "$1"
    fi
}

write_file etc/passwd "root:x:0:0:root:/root:/bin/sh
demo:x:1000:1000:demo:/home/demo:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false"

write_file etc/group "root:x:0:
tty:x:5:
demo:x:1000:
nogroup:x:65534:
nobody:x:65534:"

write_file etc/hostname "husk"

if [ "$(id -u)" -eq 0 ]; then
    chown 1000:1000 home/demo
fi
