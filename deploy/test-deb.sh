#!/usr/bin/env bash
# Builds the Debian package and checks it the way dpkg would see it:
# contents, control fields, maintainer scripts, and that the binaries it
# ships run from an extracted throwaway root (linked only against the C
# libraries the package depends on).
#   deploy/test-deb.sh [PATH.deb]     (builds one when no path is given)
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:-$(deploy/build-deb.sh .build/deb | tail -1)}
fail() { echo "test-deb: FAIL: $*" >&2; exit 1; }

contents=$(dpkg-deb --contents "$deb")
for path in ./usr/bin/lampd ./usr/bin/lampctl ./lib/systemd/system/lampd.service \
    ./usr/lib/sysusers.d/lampd.conf ./usr/lib/tmpfiles.d/lampd.conf \
    ./usr/share/lampd/examples/simulated.toml ./usr/share/lampd/examples/raspberry-pi.toml \
    ./usr/share/doc/lampd/README.md ./usr/share/doc/lampd/configuration.md \
    ./usr/share/bash-completion/completions/lampctl ./usr/share/zsh/vendor-completions/_lampctl \
    ./usr/share/fish/vendor_completions.d/lampctl.fish \
    ./usr/bin/lamp-ingest ./usr/share/man/man1/lamp-ingest.1.gz ./usr/lib/lampd/lampd-pwm-dropin \
    ./usr/share/man/man1/lampd.1.gz ./usr/share/man/man1/lampctl.1.gz; do
    grep -q " $path\$" <<<"$contents" || fail "$path is missing from the package"
done
grep -q "rwxr-xr-x root/root .* ./usr/bin/lampd$" <<<"$contents" || fail "lampd is not root-owned 0755"

control=$(dpkg-deb --field "$deb")
for field in Package Version Architecture Depends Description; do
    grep -q "^$field: " <<<"$control" || fail "control field $field is missing"
done

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb --extract "$deb" "$root"
dpkg-deb --control "$deb" "$root/DEBIAN"
for script in postinst prerm postrm; do
    [ -x "$root/DEBIAN/$script" ] || fail "$script is not executable"
    sh -n "$root/DEBIAN/$script" || fail "$script has a syntax error"
done

# The binaries must need nothing beyond the declared C libraries (the Swift
# runtime is linked statically).
for binary in lampd lampctl lamp-ingest; do
    missing=$(ldd "$root/usr/bin/$binary" | grep "not found" || true)
    [ -z "$missing" ] || fail "$binary needs libraries that are not installed: $missing"
    if ldd "$root/usr/bin/$binary" | grep -q "libswiftCore"; then fail "$binary links the Swift runtime dynamically"; fi
done
"$root/usr/bin/lampctl" --version >/dev/null || fail "lampctl does not run"
"$root/usr/bin/lampd" --version >/dev/null || fail "lampd does not run"
"$root/usr/bin/lamp-ingest" --help >/dev/null || fail "lamp-ingest does not run"
# The manual pages render, and lampctl's covers its subcommands.
for tool in lampd lampctl lamp-ingest; do
    page=$(zcat "$root/usr/share/man/man1/$tool.1.gz" | MANWIDTH=80 man -l - 2>/dev/null) || fail "man $tool does not render"
    grep -q "^NAME" <<<"$page" || fail "man $tool has no NAME section"
done
manual=$(zcat "$root/usr/share/man/man1/lampctl.1.gz")
for subcommand in status selftest lamp events spool sync gpio modbus astro config identity; do
    grep -q "^\.It Em $subcommand\$" <<<"$manual" || fail "man lampctl does not describe $subcommand"
done
sed "s|\.lampd-state|$root/state|" "$root/usr/share/lampd/examples/simulated.toml" > "$root/sim.toml"
"$root/usr/bin/lampctl" config check "$root/sim.toml" >/dev/null || fail "the shipped simulated example does not pass config check"
"$root/usr/bin/lampctl" identity init --state-dir "$root/state" >/dev/null || fail "lampctl identity init failed"
[ "$(stat -c %a "$root/state/device-key")" = 600 ] || fail "device key is not mode 0600"
systemd-analyze security --offline=true "$root/lib/systemd/system/lampd.service" 2>/dev/null \
    | grep -q "Overall exposure level for lampd.service: [01]\.[0-9]\|Overall exposure level for lampd.service: 2\.0" \
    || fail "the shipped unit's exposure is above 2.0"

# What runs on the board stays lean (issue 6: ≤ 40 MB stripped each). lampd and lampctl link
# only FoundationEssentials; full Foundation would add ICU's ~37 MB of data, so a stray
# `import Foundation` (or a dependency that needs it) fails here rather than on a pole.
budget=40000000
for binary in lampd lampctl; do
    size=$(stat -c %s "$root/usr/bin/$binary")
    [ "$size" -le "$budget" ] || fail "$binary is $size bytes stripped, above the $budget-byte budget (does it link full Foundation? docs/performance.md)"
done

echo "test-deb: $deb"
printf '  %-12s %s\n' lampd "$(stat -c %s "$root/usr/bin/lampd") bytes (stripped)" lampctl "$(stat -c %s "$root/usr/bin/lampctl") bytes (stripped)" \
    lamp-ingest "$(stat -c %s "$root/usr/bin/lamp-ingest") bytes (stripped)"
printf '  %-12s %s\n' package "$(stat -c %s "$deb") bytes"
echo "test-deb: 1 passed, 0 failed"

# Then install it for real into a throwaway Debian root, maintainer scripts
# running (needs root; caches the root under .build/).
deploy/test-install.sh "$deb"
