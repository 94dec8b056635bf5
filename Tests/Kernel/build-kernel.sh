#!/usr/bin/env bash
# Build (or reuse) the User-Mode Linux kernel the kernel GPIO tests run in: a Linux
# 6.1 kernel built as an ordinary host program (ARCH=um) with the GPIO simulator
# (gpio-sim), the GPIO character device (uAPI v1 + v2) and hostfs. No KVM, no root
# filesystem image: the guest's root is the host's / (see run-in-uml.sh).
#
# Adapted from the worked recipe in /work/shared/reference/uml-gpio/ (build-kernel.sh,
# README.md), which found the kernel options below and why each is needed.
#
# Usage: Tests/Kernel/build-kernel.sh            prints the kernel's path on its last line
#   Cache: $LAMPD_UML_CACHE (default ~/.cache/lampd/uml-kernel)/<key>/linux, where <key>
#   is a hash of the config fragment below and the source tarball's name, size and
#   mtime. A missing kernel or a changed key means a rebuild (~5 min on 2 cores).
#   Environment:
#     KSRC_TARBALL  kernel source (default /usr/src/linux-source-6.1.tar.xz, from the
#                   Debian package linux-source-6.1)
#     JOBS          parallel make jobs (default: nproc)
#     KEEP_SRC=1    keep the unpacked, built tree (~1.6 GB) in the cache for fast rebuilds
#   Build dependencies (linux-source-6.1 build-essential bc bison flex libelf-dev
#   libssl-dev xz-utils) are installed with apt-get when missing (as root, or via sudo).
# Exit status: 0 with the kernel in place; 1 when it cannot be built (the reason on stderr).
set -euo pipefail

KSRC_TARBALL=${KSRC_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
JOBS=${JOBS:-$(nproc)}
CACHE_ROOT=${LAMPD_UML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lampd/uml-kernel}
BUILD_DEPS=(linux-source-6.1 build-essential bc bison flex libelf-dev libssl-dev xz-utils)

# Options on top of `make ARCH=um defconfig`.
# GPIO_SIM needs interrupt numbers for its lines (edge events go through irq_sim).
# On a 6.1 UML kernel NR_IRQS is 64 and all 64 are in use at boot, so every edge
# request gets ENODEV. PCI_MSI raises UML's NR_IRQS to 128 (64 free); on UML it is
# selected by UML_PCI_OVER_VIRTIO, which needs VIRTIO_UML. The device ID only has
# to be >= 0 (-1 prints a WARN at boot); no PCI device exists, nothing binds.
# (init.sh uses up the 64 spare interrupt numbers on purpose to get lines whose
# edge requests fail with ENODEV, like a pin without interrupt support.)
# DEBUG_INFO_NONE: faster build, 5x smaller binary.
FRAGMENT='CONFIG_GPIOLIB=y
CONFIG_GPIO_CDEV=y
CONFIG_GPIO_CDEV_V1=y
CONFIG_GPIO_SIM=y
CONFIG_IRQ_SIM=y
CONFIG_CONFIGFS_FS=y
CONFIG_HOSTFS=y
CONFIG_DEVTMPFS=y
CONFIG_DEVTMPFS_MOUNT=y
CONFIG_DEBUG_FS=y
CONFIG_TMPFS=y
CONFIG_BINFMT_ELF=y
CONFIG_BINFMT_SCRIPT=y
CONFIG_VIRTIO_UML=y
CONFIG_UML_PCI_OVER_VIRTIO=y
CONFIG_UML_PCI_OVER_VIRTIO_DEVICE_ID=1234
CONFIG_PCI_MSI=y
CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=n
CONFIG_DEBUG_INFO_NONE=y'

install_missing_deps() {
    local missing=() pkg
    for pkg in "${BUILD_DEPS[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [[ ${#missing[@]} -gt 0 ]] || return 0
    echo "build-kernel: installing build dependencies: ${missing[*]}" >&2
    local sudo=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null || { echo "build-kernel: need root or sudo to apt-get install ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# The cache key: the fragment plus the identity of the source tarball (a Debian
# security update of linux-source-6.1 changes its size and mtime -> rebuild).
cache_key() {
    printf '%s\nsource: %s\n' "$FRAGMENT" "$(stat -c '%n %s %Y' "$KSRC_TARBALL" 2>/dev/null || echo none)"
}

[[ -f $KSRC_TARBALL ]] || install_missing_deps
[[ -f $KSRC_TARBALL ]] || { echo "build-kernel: missing $KSRC_TARBALL (apt-get install linux-source-6.1)" >&2; exit 1; }
KEY=$(cache_key)
OUTDIR=$CACHE_ROOT/$(printf '%s' "$KEY" | sha256sum | cut -c1-16)
if [[ -x $OUTDIR/linux && -f $OUTDIR/cache-key && "$(cat "$OUTDIR/cache-key")" == "$KEY" ]]; then
    echo "build-kernel: cached kernel ($(head -1 "$OUTDIR/build-time.txt" 2>/dev/null))" >&2
    echo "$OUTDIR/linux"; exit 0
fi
install_missing_deps

mkdir -p "$OUTDIR"
BUILD_DIR=$OUTDIR/src
exec 3>&1 1>&2   # build chatter to stderr; stdout carries only the kernel's path
start=$(date +%s)
if [[ ! -f $BUILD_DIR/Makefile ]]; then
    echo "build-kernel: unpacking $KSRC_TARBALL into $BUILD_DIR"
    rm -rf "$BUILD_DIR"; mkdir -p "$BUILD_DIR"
    tar -xf "$KSRC_TARBALL" -C "$BUILD_DIR" --strip-components=1
fi
cd "$BUILD_DIR"
unpacked=$(date +%s)

make ARCH=um defconfig >/dev/null
while IFS= read -r line; do
    opt=${line%%=*}; val=${line#*=}
    case $val in
        y) ./scripts/config --enable "${opt#CONFIG_}" ;;
        m) ./scripts/config --module "${opt#CONFIG_}" ;;
        n) ./scripts/config --disable "${opt#CONFIG_}" ;;
        *) ./scripts/config --set-val "${opt#CONFIG_}" "$val" ;;
    esac
done <<<"$FRAGMENT"
make ARCH=um olddefconfig >/dev/null

# Every requested option must survive olddefconfig (its dependencies met under UML).
missing=0
while IFS= read -r line; do
    want=$line
    [[ $line != *=n ]] || want="# ${line%=n} is not set"
    if ! grep -qx "$want" .config; then
        echo "build-kernel: $line did not stick (got: $(grep -E "^(# )?${line%%=*}[= ]" .config || echo 'absent'))"
        missing=1
    fi
done <<<"$FRAGMENT"
[[ $missing == 0 ]] || { echo "build-kernel: required kernel options missing"; exit 1; }

configured=$(date +%s)
make ARCH=um -j"$JOBS" linux
built=$(date +%s)

cp linux "$OUTDIR/linux.new" && mv "$OUTDIR/linux.new" "$OUTDIR/linux"
cp .config "$OUTDIR/config"
{
  echo "kernel $(make -s ARCH=um kernelversion), built in $((built-start)) s"
  echo "unpack_s=$((unpacked-start)) configure_s=$((configured-unpacked)) build_s=$((built-configured)) jobs=$JOBS"
} > "$OUTDIR/build-time.txt"
cat "$OUTDIR/build-time.txt"
printf '%s' "$KEY" > "$OUTDIR/cache-key"
cd "$OUTDIR"
[[ ${KEEP_SRC:-0} == 1 ]] || rm -rf "$BUILD_DIR"
echo "$OUTDIR/linux" >&3
