#!/usr/bin/env bash
# Make a one-layer OCI image archive from a root filesystem, without a
# registry, for `ctr images import`.
#
#   scripts/e2e/containerd/mkimage.sh ROOTFS OUT.tar [TAG]   (TAG: latest)
#
# Writes an OCI image layout (oci-layout, index.json, blobs/sha256/...)
# into a tar archive: the rootfs as one gzip layer, an image config whose
# rootfs.diff_ids names the uncompressed layer, and a manifest. index.json
# names the manifest with org.opencontainers.image.ref.name=TAG, so
# `ctr images import --base-name NAME OUT.tar` creates NAME:TAG.
# The layer is reproducible (sorted names, uid/gid 0, mtime 0, gzip -n), so
# the same rootfs gives the same digests. Needs GNU tar, gzip, sha256sum.
set -eu

[ $# -ge 2 ] || { echo "usage: $0 ROOTFS OUT.tar [TAG]" >&2; exit 2; }
rootfs=$1
out=$2
tag=${3:-latest}
[ -x "$rootfs/bin/sh" ] || { echo "error: $rootfs/bin/sh missing: not a rootfs" >&2; exit 1; }

case $(uname -m) in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    armv7l) arch=arm ;;
    ppc64le) arch=ppc64le ;;
    s390x) arch=s390x ;;
    riscv64) arch=riscv64 ;;
    *) echo "error: unknown machine $(uname -m)" >&2; exit 1 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
blobs=$work/blobs/sha256
mkdir -p "$blobs"

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
# put FILE: move FILE into blobs/sha256 under its digest; prints the digest.
put() {
    local d
    d=$(sha "$1")
    mv -f "$1" "$blobs/$d"
    printf '%s' "$d"
}

# The layer: uncompressed for the diff_id, gzip for the blob.
tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 \
    --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$rootfs" -cf "$work/layer.tar" .
diff_id=$(sha "$work/layer.tar")
gzip -n -6 "$work/layer.tar"
layer_size=$(size "$work/layer.tar.gz")
layer=$(put "$work/layer.tar.gz")

printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"husk scripts/e2e/containerd/mkimage.sh"}]}' \
    "$arch" "$diff_id" >"$work/config.json"
config_size=$(size "$work/config.json")
config=$(put "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" >"$work/manifest.json"
manifest_size=$(size "$work/manifest.json")
manifest=$(put "$work/manifest.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"},"platform":{"architecture":"%s","os":"linux"}}]}' \
    "$manifest" "$manifest_size" "$tag" "$arch" >"$work/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"

tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 \
    -C "$work" -cf "$out.tmp" oci-layout index.json blobs
mv -f "$out.tmp" "$out"
