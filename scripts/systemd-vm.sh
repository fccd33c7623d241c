#!/usr/bin/env bash
# Run a payload in a VM whose PID 1 is systemd: Debian bookworm on Debian's
# stock kernel, pure cgroup v2 (cgroup2 alone on /sys/fs/cgroup), dbus,
# journald, logind and udev running, booted under qemu (TCG, no network).
#
#   scripts/systemd-vm.sh PAYLOAD_DIR    run PAYLOAD_DIR/run.sh in the VM
#   scripts/systemd-vm.sh --build        only build (or find) the image
#
# The payload convention (for other scripts that reuse this one):
#   - PAYLOAD_DIR is packed into a second disk (mkfs.ext4 -d, a temporary
#     copy) mounted read-write at /payload in the guest.
#   - husk-payload.service runs /payload/run.sh (as root, cwd /payload,
#     HOME=/root, HUSK_SDVM=1, Delegate=yes, started after multi-user.target)
#     with stdout and stderr on the serial console, prints
#     "husk-sdvm: payload start (uptime Ns)" before and
#     "husk-sdvm: exit RC" after it, then powers the VM off.
#   - Whatever run.sh leaves in /payload/out is copied to $HUSK_SDVM_OUT on
#     the host when that is set.
#   - The guest root is a throw-away snapshot of the cached image: write
#     anywhere. Loopback is up; there is no other network. The whole
#     kernel module tree (less hardware a VM never has) is installed, so
#     modprobe works.
#   - This script exits with run.sh's exit status, or 125 if the VM failed
#     (no "husk-sdvm: exit" line: boot failure, timeout, qemu error).
#
# The image (mmdebstrap root as a raw ext4 disk, the kernel and a small
# initramfs that loads virtio/ext4 and switch_roots to systemd) is built
# once and cached in $HUSK_VM_CACHE/sdvm/KEY/, where KEY hashes the recipe
# version, the kernel version, the package list and the guest files in
# scripts/sdvm/ (initramfs-init, husk-payload, husk-payload.service).
# Runs never modify it (qemu snapshot=on), so several VMs can run at once.
# Images of other keys unused for 7 days are deleted.
#
# Environment:
#   HUSK_VM_CACHE        cache directory (default /var/cache/husk-vm)
#   HUSK_VM_KERNEL       kernel ABI version, e.g. 6.1.0-57-amd64 (default:
#                        what Debian's linux-image-amd64 depends on)
#   HUSK_VM_ACCEL        qemu accelerator (default tcg; kvm hangs here)
#   HUSK_SDVM_PACKAGES   more Debian packages for the image (space separated)
#   HUSK_SDVM_MIRROR     Debian mirror for mmdebstrap (default: the one apt
#                        uses on this host)
#   HUSK_SDVM_TIMEOUT    seconds before the VM is killed (default 1200)
#   HUSK_SDVM_LOG        serial log (default target/systemd-vm/serial.log;
#                        serial-PID.log if another run is writing that one)
#   HUSK_SDVM_OUT        host directory that receives the guest's /payload/out
#   HUSK_SDVM_APPEND     more kernel command line, e.g. "loglevel=7"
#   HUSK_SDVM_QUIET      1: print only the last 40 console lines at the end
#   HUSK_SDVM_REBUILD    1: rebuild the image even if it is cached
#
# Runs as root (re-runs itself with sudo); installs mmdebstrap,
# qemu-system-x86, e2fsprogs, busybox-static and cpio when missing.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

# The image's packages. Add packages here (or in HUSK_SDVM_PACKAGES): the
# cache key follows the list, so the next run rebuilds the image.
PACKAGES=(
    systemd systemd-sysv dbus udev libseccomp2 jq procps iproute2
    util-linux kmod
    # the oracle for scripts/sdvm/systemd-suite.sh
    runc
    # the engines of scripts/engines-test.sh, with what their e2e scripts use
    podman conmon catatonit docker.io containerd iptables python3
    busybox-static uidmap
    # CNI plugins: containerd's CRI plugin needs a pod network (scripts/e2e/cri.sh)
    containernetworking-plugins
)
# Bump when the way the image is made changes (the guest files of
# scripts/sdvm/ are hashed into the key anyway).
RECIPE_VERSION=2
SUITE=bookworm
# Free space in the guest's root filesystem (the cached file is sparse).
ROOT_FREE_MB=6144
# Module directories (under kernel/) left out of the image: hardware a
# qemu VM never has. Everything else of the kernel package goes in.
MODULES_EXCLUDE=(
    sound drivers/gpu drivers/media drivers/infiniband drivers/usb
    drivers/iio drivers/staging drivers/hwmon drivers/hid drivers/input
    drivers/comedi drivers/mtd drivers/video drivers/scsi drivers/ata
    drivers/bluetooth drivers/isdn drivers/net/wireless drivers/net/ethernet
    drivers/net/usb drivers/net/can drivers/net/wwan drivers/net/ieee802154
    drivers/net/hamradio drivers/net/wan drivers/platform drivers/mfd
    drivers/leds drivers/power drivers/thunderbolt drivers/nfc
    drivers/misc drivers/firewire drivers/mmc drivers/pcmcia drivers/atm
    drivers/i2c drivers/spi drivers/gnss drivers/rtc drivers/soundwire
    net/bluetooth net/wireless net/mac80211 net/mac802154 net/ieee802154
    net/nfc net/can net/atm
)
# What the initramfs loads (with their dependencies) to mount the root.
INITRD_MODULES=(virtio_pci virtio_blk virtio_rng crc32c_generic ext4)

case "${1:-}" in
-h | --help)
    sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
--build) MODE=build ;;
-*) die "unknown option '$1' (see --help)" ;;
"") die "usage: $0 PAYLOAD_DIR | --build (see --help)" ;;
*)
    MODE=run
    [ -d "$1" ] || die "no such directory: $1"
    [ -e "$1/run.sh" ] || die "$1 has no run.sh"
    PAYLOAD=$(cd "$1" && pwd)
    ;;
esac
[ $# -le 1 ] || die "too many arguments (see --help)"

reexec_as_root "$0" "$@"
cd "$REPO_ROOT"

CACHE=${HUSK_VM_CACHE:-/var/cache/husk-vm}
IMAGES=$CACHE/sdvm
TIMEOUT=${HUSK_SDVM_TIMEOUT:-1200}
ACCEL=${HUSK_VM_ACCEL:-tcg}
LOG=${HUSK_SDVM_LOG:-}
SDVM_FILES=$REPO_ROOT/scripts/sdvm
# The files of scripts/sdvm/ that go into the image (and into its key).
IMAGE_FILES=(initramfs-init husk-payload husk-payload.service)

start_all=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/husk-sdvm.XXXXXX")
chmod 0711 "$work" # apt-get download writes below it as _apt
building=""

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    local pid
    if [ -s "$work/qemu.pid" ]; then
        pid=$(cat "$work/qemu.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            sleep 1
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    # mmdebstrap --mode=root mounts below its target: never rm through a
    # mount point.
    local m
    for m in $(findmnt -rn -o TARGET 2>/dev/null | grep -F "$work/" | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
    rm -rf --one-file-system "$work"
    if [ -n "$building" ]; then rm -rf --one-file-system "$building"; fi
    chown_back_to_invoker target/systemd-vm
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# The kernel: the version vm-test.sh boots.

candidate_kernel() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}

pick_kernel() {
    KVER=${HUSK_VM_KERNEL:-}
    [ -n "$KVER" ] && return 0
    KVER=$(candidate_kernel)
    if [ -z "$KVER" ]; then
        apt-get update -qq >/dev/null 2>&1 || true
        KVER=$(candidate_kernel)
    fi
    if [ -z "$KVER" ]; then
        # No package lists: fall back on the newest image already built.
        KVER=$(cat "$IMAGES"/*/kernel 2>/dev/null | sort -V | tail -n 1 || true)
    fi
    [ -n "$KVER" ] || die "cannot tell which kernel linux-image-amd64 depends on (set HUSK_VM_KERNEL)"
}

# fetch_kernel: unpack linux-image-$KVER into $work/kernel/x.
fetch_kernel() {
    local dl=$work/kernel
    mkdir -p "$dl"
    id _apt >/dev/null 2>&1 && chown _apt "$dl"
    say "==> downloading linux-image-$KVER"
    if ! (cd "$dl" && apt-get download -q=2 "linux-image-$KVER" >/dev/null 2>&1); then
        apt-get update -qq >/dev/null 2>&1 || true
        (cd "$dl" && apt-get download -q=2 "linux-image-$KVER" >/dev/null) ||
            die "cannot download linux-image-$KVER"
    fi
    dpkg-deb -x "$dl"/linux-image-"$KVER"_*.deb "$dl/x"
    rm -f "$dl"/*.deb
    KDIR=$dl/x
}

# ---------------------------------------------------------------------------
# The cache key.

package_list() {
    local -a extra=()
    read -r -a extra <<<"${HUSK_SDVM_PACKAGES:-}"
    printf '%s\n' "${PACKAGES[@]}" "${extra[@]}" | sed '/^$/d' | LC_ALL=C sort -u
}

recipe() {
    say "recipe $RECIPE_VERSION"
    say "suite $SUITE"
    say "kernel $KVER"
    say "root-free-mb $ROOT_FREE_MB"
    say "packages $(package_list | tr '\n' ' ')"
    say "modules-exclude ${MODULES_EXCLUDE[*]}"
    say "initrd-modules ${INITRD_MODULES[*]}"
    (cd "$SDVM_FILES" && sha256sum -- "${IMAGE_FILES[@]}")
}

# ---------------------------------------------------------------------------
# Building the image.

# debian_uri SUITE: the URI this host's apt fetches SUITE/main from.
debian_uri() {
    apt-cache policy 2>/dev/null |
        awk -v s="$1/main" '$3 == s && $4 == "amd64" && $5 == "Packages" {print $2; exit}'
}

mmdebstrap_sources() {
    local main updates security
    main=${HUSK_SDVM_MIRROR:-$(debian_uri "$SUITE")}
    main=${main:-http://deb.debian.org/debian}
    updates=$(debian_uri "$SUITE-updates")
    security=$(debian_uri "$SUITE-security")
    SOURCES=("deb $main $SUITE main")
    [ -n "$updates" ] && SOURCES+=("deb ${HUSK_SDVM_MIRROR:-$updates} $SUITE-updates main")
    [ -n "$security" ] && SOURCES+=("deb $security $SUITE-security main")
    say "==> mirror: $main${security:+ (security: $security)}"
}

# The host's apt proxy and Check-Valid-Until (snapshot mirrors) apply too.
mmdebstrap_aptopts() {
    local proxy="" valid=""
    eval "$(apt-config shell proxy Acquire::http::Proxy valid Acquire::Check-Valid-Until)"
    APTOPTS=(--aptopt='APT::Install-Recommends "false"')
    [ -n "$proxy" ] && APTOPTS+=(--aptopt="Acquire::http::Proxy \"$proxy\"")
    case $valid in false | no | 0) APTOPTS+=(--aptopt='Acquire::Check-Valid-Until "false"') ;; esac
    return 0
}

# resolve_modules NAME...: the .ko paths (relative to the module tree) of
# NAME and its dependencies, dependencies first, from modules.dep.
resolve_modules() {
    local dep=$1/modules.dep
    shift
    local -A seen=()
    local -a order=()
    add_module() {
        local path=$1 line d
        [ -n "${seen[$path]:-}" ] && return 0
        seen[$path]=1
        line=$(grep -m1 "^$path:" "$dep") || die "$path is not in modules.dep"
        local -a deps=()
        read -r -a deps <<<"${line#*:}"
        # modules.dep lists dependencies last-loaded first.
        local i
        for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
            add_module "${deps[i]}"
        done
        order+=("$path")
    }
    local name path
    for name in "$@"; do
        # A module's file may spell its name with - for _ (virtio-rng.ko).
        path=$(grep -m1 -E "(^|/)${name//[_-]/[_-]}\.ko(\.[a-z]+)?:" "$dep" | cut -d: -f1) ||
            die "module $name is not in modules.dep"
        [ -n "$path" ] || die "module $name is not in modules.dep"
        add_module "$path"
    done
    printf '%s\n' "${order[@]}"
}

build_initramfs() {
    local mods=$1 out=$2 stage=$work/initrd path
    mkdir -p "$stage"/{bin,sbin,dev,proc,sys,newroot,lib/modules}
    install -m 0755 /bin/busybox "$stage/bin/busybox"
    local applet
    for applet in sh mount insmod sleep switch_root poweroff mkdir cat; do
        ln -s busybox "$stage/bin/$applet"
    done
    mknod -m 0600 "$stage/dev/console" c 5 1
    install -m 0755 "$SDVM_FILES/initramfs-init" "$stage/init"
    resolve_modules "$mods" "${INITRD_MODULES[@]}" >"$work/load.order"
    while read -r path; do
        cp "$mods/$path" "$stage/lib/modules/$(basename "$path")"
        basename "$path" >>"$stage/lib/modules/load.order"
    done <"$work/load.order"
    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) |
        gzip -9 >"$out"
}

# configure_root ROOT: make systemd boot fast and run the payload.
configure_root() {
    local root=$1
    printf 'husk-sdvm\n' >"$root/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\thusk-sdvm\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
        >"$root/etc/hosts"
    # A set machine-id: no first-boot logic (presets, systemd-firstboot).
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
    printf '\n' >>"$root/etc/machine-id"
    cat >"$root/etc/fstab" <<'EOF'
LABEL=husk-root / ext4 rw,noatime 0 0
LABEL=husk-payload /payload ext4 rw,noatime,x-systemd.device-timeout=60s 0 0
EOF
    mkdir -p "$root/payload" "$root/etc/systemd/journald.conf.d" "$root/etc/systemd/system.conf.d"
    cat >"$root/etc/systemd/journald.conf.d/husk-sdvm.conf" <<'EOF'
[Journal]
Storage=volatile
ForwardToConsole=no
EOF
    cat >"$root/etc/systemd/system.conf.d/husk-sdvm.conf" <<'EOF'
[Manager]
ShowStatus=error
DefaultTimeoutStopSec=15s
EOF
    install -D -m 0755 "$SDVM_FILES/husk-payload" "$root/usr/local/libexec/husk-payload"
    install -m 0644 "$SDVM_FILES/husk-payload.service" "$root/etc/systemd/system/husk-payload.service"
    chroot "$root" systemctl enable husk-payload.service >/dev/null 2>&1
    # Units a one-shot VM does not need. Masking a unit that is not
    # installed is harmless.
    chroot "$root" systemctl mask \
        getty.target getty@tty1.service serial-getty@ttyS0.service console-getty.service \
        systemd-firstboot.service systemd-timesyncd.service \
        systemd-networkd-wait-online.service networking.service \
        apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
        e2scrub_all.timer e2scrub_reap.service fstrim.timer logrotate.timer \
        man-db.timer systemd-tmpfiles-clean.timer \
        systemd-hwdb-update.service ldconfig.service systemd-update-done.service \
        systemd-journal-catalog-update.service systemd-pstore.service \
        systemd-fsck-root.service \
        >/dev/null 2>&1
    # The engines are installed with their units enabled, as on any Debian
    # host; a payload that tests one starts it (systemctl start). Not at
    # boot: under TCG they would slow every boot, for every payload.
    chroot "$root" systemctl disable docker.service docker.socket containerd.service \
        >/dev/null 2>&1 || true
    # What those masked updates would have done on the first boot.
    chroot "$root" systemd-hwdb update
    chroot "$root" journalctl --update-catalog >/dev/null 2>&1 || true
    chroot "$root" ldconfig
}

# install_modules ROOT: the kernel's module tree, less MODULES_EXCLUDE.
install_modules() {
    local root=$1 dest d
    dest=$root/lib/modules/$KVER
    mkdir -p "$root/lib/modules"
    cp -a "$KDIR/lib/modules/$KVER" "$dest"
    for d in "${MODULES_EXCLUDE[@]}"; do
        rm -rf "${dest:?}/kernel/$d"
    done
    chroot "$root" depmod -a "$KVER"
}

build_image() {
    local dest=$1 root=$work/root
    building=$IMAGES/.build.$KEY.$$
    rm -rf "$building"
    mkdir -p "$building"
    local t_build=$SECONDS
    fetch_kernel
    mmdebstrap_sources
    mmdebstrap_aptopts
    local -a pkgs
    mapfile -t pkgs < <(package_list)
    say "==> mmdebstrap $SUITE: ${pkgs[*]}"
    local t0=$SECONDS
    mmdebstrap --mode=root --variant=minbase --format=directory -q \
        "${APTOPTS[@]}" \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --include="$(
            IFS=,
            echo "${pkgs[*]}"
        )" \
        "$SUITE" "$root" "${SOURCES[@]}"
    local t_mm=$((SECONDS - t0))
    install_modules "$root"
    configure_root "$root"
    build_initramfs "$root/lib/modules/$KVER" "$building/initrd.gz"
    cp "$KDIR/boot/vmlinuz-$KVER" "$building/vmlinuz"
    cp "$KDIR/boot/config-$KVER" "$building/config"

    local used_mb size_mb
    used_mb=$(du -sxm "$root" | cut -f1)
    size_mb=$((used_mb * 12 / 10 + ROOT_FREE_MB))
    say "==> mkfs.ext4 -d: ${used_mb} MB of files in a ${size_mb} MB disk"
    mkfs.ext4 -q -F -L husk-root -d "$root" -E lazy_itable_init=1,lazy_journal_init=1 \
        "$building/root.img" "${size_mb}M" >/dev/null
    chmod 0444 "$building/root.img"
    recipe >"$building/recipe"
    say "$KVER" >"$building/kernel"
    printf 'mmdebstrap %ss, image %s MB of files, built %s\n' "$t_mm" "$used_mb" "$(date -u +%FT%TZ)" \
        >"$building/built"
    rm -rf --one-file-system "$root" "$work/kernel"
    rm -rf "$dest"
    mv "$building" "$dest"
    building=""
    say "==> image built in $((SECONDS - t_build))s (mmdebstrap ${t_mm}s): $dest"
}

image_complete() {
    local f
    for f in root.img vmlinuz initrd.gz recipe; do
        [ -s "$1/$f" ] || return 1
    done
}

# Delete images of other keys that no run used for 7 days (and that no
# run holds now).
prune_images() {
    local lock key fd
    for lock in "$IMAGES"/*.lock; do
        [ -e "$lock" ] || continue
        key=$(basename "$lock" .lock)
        [ "$key" = "$KEY" ] && continue
        [ -z "$(find "$lock" -mtime +7)" ] && continue
        exec {fd}>>"$lock"
        if flock -n -x "$fd"; then
            rm -rf --one-file-system "${IMAGES:?}/$key" "$lock"
            say "==> pruned the unused image $key"
        fi
        exec {fd}>&-
    done
}

# prepare_image: IMAGE=the image directory, built if needed, held with a
# shared lock until this script exits.
prepare_image() {
    mkdir -p "$IMAGES"
    pick_kernel
    KEY=$(recipe | sha256sum | cut -c1-16)
    IMAGE=$IMAGES/$KEY
    exec {image_lock}>>"$IMAGES/$KEY.lock"
    # Runs hold the lock shared; a build holds it exclusive, so a parallel
    # cold run waits for this one's image instead of building its own.
    flock -s "$image_lock"
    if [ "${HUSK_SDVM_REBUILD:-0}" = 1 ] || ! image_complete "$IMAGE"; then
        flock -u "$image_lock"
        flock -x "$image_lock"
        if [ "${HUSK_SDVM_REBUILD:-0}" = 1 ] || ! image_complete "$IMAGE"; then
            build_image "$IMAGE"
        fi
        flock -s "$image_lock"
    fi
    touch "$IMAGES/$KEY.lock"
    prune_images
    say "==> image $IMAGE (kernel $KVER, $(du -sh "$IMAGE/root.img" | cut -f1) on disk," \
        "$(du -sh --apparent-size "$IMAGE/root.img" | cut -f1) apparent)"
}

# ---------------------------------------------------------------------------

apt_install_missing mmdebstrap qemu-system-x86 e2fsprogs busybox-static cpio
is_static_elf /bin/busybox || die "/bin/busybox is not static (install busybox-static)"

prepare_image
[ "$MODE" = build ] && exit 0

# The payload disk: a copy of PAYLOAD_DIR with room for /payload/out.
payload_mb=$(du -sxm "$PAYLOAD" | cut -f1)
payload_mb=$((payload_mb * 13 / 10 + 512))
mkfs.ext4 -q -F -L husk-payload -d "$PAYLOAD" -E lazy_itable_init=1,lazy_journal_init=1 \
    "$work/payload.img" "${payload_mb}M" >/dev/null

# The log: the default one unless another run is writing it.
if [ -z "$LOG" ]; then
    LOG=$REPO_ROOT/target/systemd-vm/serial.log
    mkdir -p "$(dirname "$LOG")"
    exec {log_lock}>>"$LOG"
    if ! flock -n "$log_lock"; then
        exec {log_lock}>&-
        LOG=$REPO_ROOT/target/systemd-vm/serial-$$.log
    fi
fi
mkdir -p "$(dirname "$LOG")"
: >"$LOG"

append="console=ttyS0 root=/dev/vda rw quiet panic=-1 systemd.unified_cgroup_hierarchy=1"
append="$append cgroup_no_v1=all systemd.show_status=error ${HUSK_SDVM_APPEND:-}"
say "==> booting (qemu, $ACCEL, timeout ${TIMEOUT}s); serial log: $LOG"
boot_start=$SECONDS
if [ "${HUSK_SDVM_QUIET:-0}" = 1 ]; then
    show() { cat >/dev/null; }
else
    show() { cat; }
fi
# TMPDIR: where snapshot=on keeps the root disk's writes.
(
    set +e
    TMPDIR=$work timeout -k 10 "$TIMEOUT" qemu-system-x86_64 \
        -accel "$ACCEL" -m 2048 -smp 2 -nodefaults -no-user-config \
        -display none -monitor none -serial stdio -nic none -no-reboot \
        -pidfile "$work/qemu.pid" \
        -kernel "$IMAGE/vmlinuz" -initrd "$IMAGE/initrd.gz" -append "$append" \
        -drive "file=$IMAGE/root.img,format=raw,if=virtio,snapshot=on,discard=unmap" \
        -drive "file=$work/payload.img,format=raw,if=virtio" \
        -device virtio-rng-pci \
        </dev/null 2>&1
    echo $? >"$work/qemu.rc"
) | sed -u 's/\r$//' | tee "$LOG" | show &
wait $! || true
qemu_rc=$(cat "$work/qemu.rc" 2>/dev/null || echo 255)
vm_took=$((SECONDS - boot_start))
[ "${HUSK_SDVM_QUIET:-0}" = 1 ] && tail -n 40 "$LOG"

if [ -n "${HUSK_SDVM_OUT:-}" ]; then
    mkdir -p "$HUSK_SDVM_OUT"
    # rdump makes DIR/out: unpack beside, then move its contents.
    if debugfs -R "stat /out" "$work/payload.img" 2>/dev/null | grep -q 'Type: directory' &&
        mkdir "$work/out" && debugfs -R "rdump /out $work/out" "$work/payload.img" >/dev/null 2>&1; then
        cp -a "$work/out/out/." "$HUSK_SDVM_OUT/"
        chown_back_to_invoker "$HUSK_SDVM_OUT"
    else
        say "warning: no /payload/out to copy to $HUSK_SDVM_OUT" >&2
    fi
fi

start_line=$(grep -a -E '^husk-sdvm: payload start' "$LOG" | tail -n 1 || true)
marker=$(grep -a -E '^husk-sdvm: exit [0-9]+$' "$LOG" | tail -n 1 || true)
say ""
say "==> the VM ran ${vm_took}s${start_line:+ (${start_line#husk-sdvm: })}; systemd-vm took $((SECONDS - start_all))s"
if [ -z "$marker" ]; then
    if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
        say "FAIL: the VM did not finish within ${TIMEOUT}s (HUSK_SDVM_TIMEOUT); see $LOG" >&2
    elif [ -z "$start_line" ]; then
        say "FAIL: the payload never started (qemu status $qemu_rc); see $LOG" >&2
    else
        say "FAIL: no 'husk-sdvm: exit' line from the payload (qemu status $qemu_rc); see $LOG" >&2
    fi
    exit 125
fi
rc=${marker##* }
say "==> payload exited with status $rc"
exit "$rc"
