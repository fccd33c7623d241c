#!/usr/bin/env bash
# Test husk on a pure cgroup v2 host: boot Debian's stock kernel under qemu
# with an initramfs that holds husk, the busybox bundle and an in-VM suite.
#
#   ./scripts/vm-test.sh
#
# Steps: build husk (cargo build --release) and the busybox rootfs
# (scripts/mkrootfs.sh); fetch Debian's kernel once into a cache; pack an
# initramfs (static busybox, husk and the libraries it links, jq, the
# rootfs, the bundles of scripts/vm/bundles.sh, scripts/vm/init and
# scripts/vm/suite.sh); boot it with TCG; print the serial console and read
# the suite's last line, "N passed, M failed".
#
# In the VM, scripts/vm/init mounts cgroup2 alone on /sys/fs/cgroup, enables
# every controller in the root's cgroup.subtree_control and runs the suite,
# which runs containers in /husk-test/NAME and checks the cgroup files
# (memory, pids, cpu, cpuset, io, hugetlb, unified, eBPF devices, freezer,
# update, events, kill --all, delete, cgroup namespace) and, from
# scripts/vm/lsm.sh, AppArmor confinement with a profile compiled here, and
# from scripts/vm/rootless.sh, rootless containers in a delegated subtree.
#
# Environment:
#   HUSK_VM_CACHE    kernel cache (default /var/cache/husk-vm)
#   HUSK_VM_KERNEL   kernel ABI version, e.g. 6.1.0-56-amd64 (default: what
#                    Debian's linux-image-amd64 depends on; a cached one if
#                    apt cannot say)
#   HUSK_VM_TIMEOUT  seconds before the VM is killed (default 600)
#   HUSK_VM_ACCEL    qemu accelerator (default tcg; kvm hangs on this host)
#   HUSK_VM_LOG      where the serial log is kept (default
#                    target/vm-test/serial.log)
#   HUSK_VM_CHECKS   run only these checks of scripts/vm/suite.sh, e.g.
#                    "pause update" (default: all)
#
# Runs as root (re-runs itself with sudo); installs qemu-system-x86, cpio,
# busybox-static, jq and apparmor (apparmor_parser compiles the profile of
# the lsm check) with apt-get when missing. Exits 0 only if the VM
# ran, the suite printed its summary and no check failed.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

no_args_but_help "$@"

reexec_as_root "$0" "$@"
cd "$REPO_ROOT"

CACHE=${HUSK_VM_CACHE:-/var/cache/husk-vm}
TIMEOUT=${HUSK_VM_TIMEOUT:-600}
ACCEL=${HUSK_VM_ACCEL:-tcg}
LOG=${HUSK_VM_LOG:-$REPO_ROOT/target/vm-test/serial.log}
# Kernel modules the suite loads (paths inside the kernel package).
MODULES=(kernel/block/bfq.ko)

start_all=$SECONDS
work=$(mktemp -d /tmp/husk-vm.XXXXXX)
chmod 0711 "$work" # apt-get download writes below it as _apt
trap 'rm -rf "$work"; chown_back_to_invoker target' EXIT

# ---------------------------------------------------------------------------
# The kernel: Debian's stock one, unpacked once into the cache.

# The version linux-image-amd64 points at, from the local package lists.
candidate_kernel() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}

# The newest kernel already in the cache, if any.
cached_kernel() {
    local d
    for d in $(find "$CACHE" -mindepth 1 -maxdepth 1 -type d -name '*-amd64' | sort -V -r); do
        kernel_complete "$d" && basename "$d" && return 0
    done
    return 0
}

kernel_complete() {
    local m
    [ -s "$1/vmlinuz" ] || return 1
    for m in "${MODULES[@]}"; do
        [ -s "$1/modules/$(basename "$m")" ] || return 1
    done
}

# fetch_kernel VERSION: download linux-image-VERSION and keep vmlinuz, its
# config and the modules the suite needs in $CACHE/VERSION.
fetch_kernel() {
    local kver=$1 dl=$work/kernel
    mkdir -p "$dl"
    # apt-get download drops privileges to _apt, which must be able to write.
    id _apt >/dev/null 2>&1 && chown _apt "$dl"
    say "==> downloading linux-image-$kver"
    if ! (cd "$dl" && apt-get download -q=2 "linux-image-$kver" >/dev/null); then
        apt-get update -qq >/dev/null 2>&1 || true
        (cd "$dl" && apt-get download -q=2 "linux-image-$kver" >/dev/null) || return 1
    fi
    dpkg-deb -x "$dl"/linux-image-"$kver"_*.deb "$dl/x"
    local new=$CACHE/.$kver.new m
    rm -rf "$new"
    mkdir -p "$new/modules"
    cp "$dl/x/boot/vmlinuz-$kver" "$new/vmlinuz"
    cp "$dl/x/boot/config-$kver" "$new/config"
    for m in "${MODULES[@]}"; do
        cp "$dl/x/lib/modules/$kver/$m" "$new/modules/"
    done
    rm -rf "${CACHE:?}/$kver"
    mv "$new" "$CACHE/$kver"
    rm -rf "$dl"
}

prepare_kernel() {
    mkdir -p "$CACHE"
    local kver=${HUSK_VM_KERNEL:-}
    if [ -z "$kver" ]; then
        kver=$(candidate_kernel)
        if [ -z "$kver" ]; then
            apt-get update -qq >/dev/null 2>&1 || true
            kver=$(candidate_kernel)
        fi
    fi
    if [ -n "$kver" ] && kernel_complete "$CACHE/$kver"; then
        KVER=$kver
        return 0
    fi
    if [ -n "$kver" ] && fetch_kernel "$kver"; then
        KVER=$kver
        # Older kernels are of no more use.
        local d
        for d in "$CACHE"/*-amd64; do
            [ "$d" = "$CACHE/$kver" ] || rm -rf "$d"
        done
        return 0
    fi
    KVER=$(cached_kernel)
    if [ -z "$KVER" ]; then
        die "no kernel: cannot download linux-image-${kver:-amd64} and none is cached in $CACHE"
    fi
    say "warning: using the cached kernel $KVER (linux-image-${kver:-?} could not be fetched)" >&2
}

# ---------------------------------------------------------------------------
# The initramfs.

# copy_elf BINARY DEST: BINARY at DEST in the image, with every library ldd
# lists (the dynamic loader included) at the same path as on the host.
copy_elf() {
    install -D -m 0755 "$1" "$stage$2"
    local lib
    for lib in $(ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
        [ -e "$stage$lib" ] && continue
        mkdir -p "$stage$(dirname "$lib")"
        cp -L "$lib" "$stage$lib"
    done
}

build_initramfs() {
    stage=$work/root
    mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc,srv,lib/modules,husk-test}
    mknod -m 0600 "$stage/dev/console" c 5 1

    install -m 0755 /bin/busybox "$stage/bin/busybox"
    local applet
    for applet in $(/bin/busybox --list-full); do
        [ -e "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
    done

    copy_elf target/release/husk /usr/local/bin/husk
    copy_elf "$(command -v jq)" /usr/bin/jq

    cp -a bundles/busybox/rootfs "$stage/srv/rootfs"
    # shellcheck source=scripts/vm/bundles.sh
    . scripts/vm/bundles.sh
    make_bundles bundles/busybox/config.json "$stage/srv/bundles"

    install -m 0755 scripts/vm/init "$stage/init"
    install -m 0755 scripts/vm/suite.sh "$stage/husk-test/suite.sh"
    install -m 0644 scripts/vm/lsm.sh "$stage/husk-test/lsm.sh"
    install -m 0644 scripts/vm/rootless.sh "$stage/husk-test/rootless.sh"
    # The AppArmor profile, compiled here without loading it (the VM
    # loads the binary policy); apparmor_parser needs no AppArmor host.
    apparmor_parser -Q -S scripts/vm/husk-test.apparmor >"$stage/husk-test/husk-test.aa"
    cp "$CACHE/$KVER"/modules/*.ko "$stage/lib/modules/"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
    printf 'root:x:0:\n' >"$stage/etc/group"

    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) |
        gzip -1 >"$work/initramfs.gz"
}

# ---------------------------------------------------------------------------

apt_install_missing qemu-system-x86 cpio busybox-static jq apparmor
is_static_elf /bin/busybox || die "/bin/busybox is not static (install busybox-static)"
have cargo || die "cargo is not installed (rustup: https://rustup.rs)"

say "==> cargo build --release"
cargo build --release
say "==> scripts/mkrootfs.sh"
scripts/mkrootfs.sh

prepare_kernel
say "==> kernel $KVER ($CACHE/$KVER)"
build_initramfs
say "==> initramfs $(du -h "$work/initramfs.gz" | cut -f1)"

mkdir -p "$(dirname "$LOG")"
checks=$(echo "${HUSK_VM_CHECKS:-}" | tr -s ' ,' ',' | sed 's/^,//; s/,$//')
say "==> booting (qemu, $ACCEL, timeout ${TIMEOUT}s); serial log: $LOG"
boot_start=$SECONDS
set +e
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 \
    -accel "$ACCEL" -m 1024 -smp 2 \
    -kernel "$CACHE/$KVER/vmlinuz" -initrd "$work/initramfs.gz" \
    -append "console=ttyS0 quiet panic=-1 hugepages=4${checks:+ husk.checks=$checks}" \
    -nographic -no-reboot </dev/null 2>&1 | sed -u 's/\r$//' | tee "$LOG"
qemu_rc=${PIPESTATUS[0]}
set -e
boot_took=$((SECONDS - boot_start))

say ""
say "==> the VM ran ${boot_took}s; vm-test took $((SECONDS - start_all))s"
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$LOG" | tail -n 1 || true)
fails=$(grep -E '^FAIL ' "$LOG" || true)
if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
    die "FAIL: the VM did not finish within ${TIMEOUT}s (HUSK_VM_TIMEOUT)"
elif [ "$qemu_rc" -ne 0 ]; then
    die "FAIL: qemu exited with status $qemu_rc"
elif [ -z "$summary" ]; then
    die "FAIL: the suite printed no 'N passed, M failed' line (see $LOG)"
fi
nfail=$(echo "$summary" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
if [ "$nfail" -ne 0 ]; then
    say "failed checks:"
    say "$fails"
    say "FAIL: vm-test (cgroup v2, kernel $KVER): $summary"
    exit 1
fi
say "PASS: vm-test (cgroup v2, kernel $KVER): $summary"
