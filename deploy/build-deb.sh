#!/usr/bin/env bash
# Builds the lampd Debian package for this machine's architecture.
#   deploy/build-deb.sh [OUTPUT_DIR]
# Release build with the Swift standard library linked statically, so the
# board needs only the C libraries (libgpiod2, libmodbus5, libsqlite3-0,
# libsystemd0) and tzdata (time zones are read from /usr/share/zoneinfo), not a
# Swift toolchain. For arm64/armhf boards see
# docs/cross-building.md.
set -euo pipefail
cd "$(dirname "$0")/.."
output=${1:-.build/deb}
version=$(sed -n 's/.*static let version = "\(.*\)"/\1/p' Sources/Agent/Daemon/LampdAgent.swift)
arch=$(dpkg --print-architecture)

# Manual pages, generated from the command-line parsers (swift-argument-parser's
# generate-manual plugin, offline). It runs the debug build of every product (the
# help text is the same, and the test suite uses that build too), so the release
# build below keeps its own flags (scripts/build-release).
swift package plugin generate-manual --configuration debug \
    --authors "lampd developers<maintainers@lampd.invalid>" >/dev/null
manuals=.build/plugins/GenerateManual/outputs
bin=$(scripts/build-release lampd lampctl lamp-ingest)

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/lib/sysusers.d" \
    "$root/usr/lib/tmpfiles.d" "$root/usr/share/doc/lampd" "$root/usr/share/lampd/examples" \
    "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d" "$root/usr/share/man/man1"
install -m 0755 "$bin/lampd" "$bin/lampctl" "$bin/lamp-ingest" "$root/usr/bin/"
strip --strip-unneeded "$root/usr/bin/lampd" "$root/usr/bin/lampctl" "$root/usr/bin/lamp-ingest"
install -m 0644 systemd/lampd.service "$root/lib/systemd/system/lampd.service"
install -D -m 0755 systemd/lampd-pwm-dropin "$root/usr/lib/lampd/lampd-pwm-dropin"
install -m 0644 systemd/lampd.sysusers "$root/usr/lib/sysusers.d/lampd.conf"
install -m 0644 systemd/lampd.tmpfiles "$root/usr/lib/tmpfiles.d/lampd.conf"
install -m 0644 deploy/examples/*.toml "$root/usr/share/lampd/examples/"
# lamp-ingest serve --live-view: its templates, script and style sheet (docs/live-view.md).
install -d "$root/usr/share/lampd/live-view"
install -m 0644 Sources/LiveView/Templates/* "$root/usr/share/lampd/live-view/"
install -m 0644 README.md "$root/usr/share/doc/lampd/"
install -m 0644 docs/*.md "$root/usr/share/doc/lampd/"
"$root/usr/bin/lampctl" --generate-completion-script bash > "$root/usr/share/bash-completion/completions/lampctl"
"$root/usr/bin/lampctl" --generate-completion-script zsh > "$root/usr/share/zsh/vendor-completions/_lampctl"
"$root/usr/bin/lampctl" --generate-completion-script fish > "$root/usr/share/fish/vendor_completions.d/lampctl.fish"
for tool in lampd lampctl lamp-ingest; do
    gzip -9n < "$manuals/$tool/$tool.1" > "$root/usr/share/man/man1/$tool.1.gz"
    chmod 0644 "$root/usr/share/man/man1/$tool.1.gz"
done
install -m 0755 deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$root/DEBIAN/"

size=$(du -sk "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: lampd
Version: $version
Architecture: $arch
Maintainer: lampd developers <maintainers@lampd.invalid>
Section: misc
Priority: optional
Installed-Size: $size
Depends: libgpiod2, libmodbus5, libsqlite3-0, libsystemd0, libc6, libstdc++6, zlib1g, adduser, tzdata
Suggests: libjs-leaflet, libjs-leaflet.markercluster
Description: street-lamp controller agent
 lampd runs on the board in a smart street lamp's pole or a roadside
 cabinet: it dims the lamp on an astronomical schedule, watches the traffic
 light cabinet through GPIO and Modbus, keeps every reading on local
 storage while the network is down, and lets technicians diagnose the pole
 with lampctl.
CONTROL

mkdir -p "$output"
deb="$output/lampd_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "$deb"
