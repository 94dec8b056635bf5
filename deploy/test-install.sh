#!/usr/bin/env bash
# Installs the Debian package into a throwaway Debian root and runs its
# maintainer scripts for real: postinst (lampd user and groups, state
# directory, device key), reinstall, remove (prerm/postrm keep the state),
# reinstall after remove, purge (postrm deletes the state) and install after
# purge.
#   deploy/test-install.sh PATH.deb          (as root: it debootstraps and chroots)
# Two roots, each a fresh copy, each through every step with dpkg (not apt, so
# a missing dependency fails instead of being fetched):
#   - Debian bookworm minbase + the package's Depends and nothing else: the
#     binaries running there prove the declared Depends are enough; without
#     systemd, postinst takes its adduser/install -d path;
#   - the same + systemd (no recommends), as on a board: postinst's
#     systemd-sysusers/systemd-tmpfiles path, and the unit enabled although
#     systemd is not running (as in a board image built in a chroot).
# They are cached as .build/install-root-bookworm-<hash of Depends>{,-systemd}.tar;
# the first run needs the Debian mirror (from /etc/apt/sources.list.d/debian.sources,
# or LAMPD_DEBIAN_MIRROR), later runs need no network.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:?usage: deploy/test-install.sh PATH.deb}
if [ "$(id -u)" != 0 ]; then
    echo "test-install: FAIL: must run as root (it debootstraps a Debian root and chroots into it); try: sudo $0 $*" >&2
    exit 2
fi
[ -f "$deb" ] || { echo "test-install: FAIL: no such package: $deb" >&2; exit 2; }
deb=$(realpath "$deb")
started=$SECONDS
suite=bookworm

# The Depends, without versions; the first of any alternatives.
depends=$(dpkg-deb --field "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | grep -v '^$' | sort -u | paste -sd, -)
[ -n "$depends" ] || { echo "test-install: FAIL: the package declares no Depends" >&2; exit 1; }
key=$(printf '%s\n' "$suite" "$depends" | sha256sum | cut -c1-12)
mkdir -p .build
cache=.build/install-root-$suite-$key # + .tar (minbase + Depends) and -systemd.tar (+ systemd)

root=
cleanup() { # unmounts and deletes the current root
    [ -n "$root" ] || return 0
    local mount
    for mount in "$root/dev" "$root/proc"; do
        if mountpoint -q "$mount"; then umount "$mount" || umount -l "$mount" || true; fi
    done
    # Never delete through a mount that is still there (it would be the host's /dev).
    if mountpoint -q "$root/dev" || mountpoint -q "$root/proc"; then
        echo "test-install: WARNING: $root is still mounted; left in place" >&2
    else
        rm -rf --one-file-system "$root"
    fi
    root=
}
trap cleanup EXIT
new_root() {
    root=$(mktemp -d /tmp/lampd-install-root.XXXXXX)
    [ -z "${1:-}" ] || tar --numeric-owner -xpf "$1" -C "$root"
    chmod 0755 "$root" # mktemp's 0700 would keep every user but root out of the whole root
}
mount_root() {
    mount -t proc proc "$root/proc"
    # Host /dev (for /dev/null, /dev/urandom): debootstrap in a container may not create device nodes.
    mount --bind /dev "$root/dev"
}
save_root() { # save_root TARBALL: without downloaded archives, package lists and logs
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/log/apt/*
    tar --numeric-owner -cpf "$1.partial.$$" -C "$root" . && mv "$1.partial.$$" "$1"
}

if [ ! -f "$cache.tar" ] || [ ! -f "$cache-systemd.tar" ]; then
    command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
    mirror=${LAMPD_DEBIAN_MIRROR:-$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -1)}
    mirror=${mirror:-http://deb.debian.org/debian}
    echo "test-install: debootstrap $suite minbase + $depends from $mirror"
    log=$(mktemp)
    new_root
    if ! debootstrap --variant=minbase --include="$depends" "$suite" "$root" "$mirror" >"$log" 2>&1; then
        tail -30 "$log" >&2; rm -f "$log"
        echo "test-install: FAIL: debootstrap failed (log above)" >&2; exit 1
    fi
    rm -f .build/install-root-$suite-*.tar
    save_root "$cache.tar"
    # The same with systemd (no recommends), as on a board: postinst's sysusers/tmpfiles/enable path.
    mount_root
    if ! chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd' >"$log" 2>&1; then
        tail -30 "$log" >&2; rm -f "$log"
        echo "test-install: FAIL: installing systemd into the root failed (log above)" >&2; exit 1
    fi
    rm -f "$log"
    umount "$root/dev" "$root/proc"
    save_root "$cache-systemd.tar"
    cleanup
    echo "test-install: cached the roots as $cache.tar ($(du -h "$cache.tar" | cut -f1)), $cache-systemd.tar ($(du -h "$cache-systemd.tar" | cut -f1))"
else
    echo "test-install: roots from $cache.tar, $cache-systemd.tar"
fi

passed=0
failed=0
pass() { passed=$((passed + 1)); }
variant=
fail() { failed=$((failed + 1)); echo "test-install: FAIL [$variant]: $*" >&2; }
# check "what must hold" command...: runs the command, counts it.
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then pass; else fail "$what"; fi; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
dpkg_in_root() { # dpkg_in_root LOGNAME ARGS...: runs dpkg in the root, keeps its output in $root/tmp/LOGNAME
    local name=$1; shift
    if in_root dpkg "$@" >"$root/tmp/$name" 2>&1; then return 0; fi
    echo "--- dpkg $* (in the root):" >&2; tail -20 "$root/tmp/$name" >&2; return 1
}
owner_mode() { in_root stat -c '%U:%G %a' "$1" 2>/dev/null || echo missing; }
fingerprint() { { in_root lampctl identity show --state-dir /var/lib/lampd 2>/dev/null || true; } | sed -n 's/^Fingerprint *//p'; }
key_digest() { { sha256sum "$root/var/lib/lampd/device-key" 2>/dev/null || echo missing; } | cut -d' ' -f1; }
status() { in_root dpkg-query -W -f='${db:Status-Abbrev}' lampd 2>/dev/null | tr -d ' ' || true; }
not_grep() { ! grep -q "$1" "$2"; }
in_group() { in_root id -nG lampd 2>/dev/null | tr ' ' '\n' | grep -qx "$1"; }

run() { # run VARIANT TARBALL: every step and check in a fresh root from TARBALL
    variant=$1
    new_root "$2"
    mount_root
    cp "$deb" "$root/tmp/lampd.deb"
    local systemd=no wants=$root/etc/systemd/system/multi-user.target.wants/lampd.service
    if in_root sh -c 'command -v systemctl' >/dev/null; then systemd=yes; fi
    # 1. First install: dpkg -i, so missing Depends fail instead of being fetched.
    if dpkg_in_root install.log -i /tmp/lampd.deb; then pass; else fail "dpkg -i of a fresh install failed (postinst or unmet Depends; output above)"; fi
    check "dpkg does not record lampd as installed (status $(status))" test "$(status)" = ii
    check "postinst did not announce the new device key" grep -q "lampd: device key created" "$root/tmp/install.log"
    check "user lampd does not exist" in_root getent passwd lampd
    for group in lampd lampd-operators gpio dialout; do
        check "group $group does not exist" in_root getent group "$group"
    done
    for group in gpio dialout; do
        check "lampd is not a member of $group" in_group "$group"
    done
    check "lampd's primary group is not lampd" test "$(in_root id -gn lampd 2>/dev/null)" = lampd
    check "lampd is not a system user (uid $(in_root id -u lampd 2>/dev/null) >= 1000)" test "$(in_root id -u lampd 2>/dev/null || echo 65534)" -lt 1000
    check "lampd's home is not /var/lib/lampd" test "$(in_root getent passwd lampd | cut -d: -f6)" = /var/lib/lampd
    check "lampd has a login shell ($(in_root getent passwd lampd | cut -d: -f7))" \
        grep -qx '/usr/sbin/nologin\|/bin/false' <<<"$(in_root getent passwd lampd | cut -d: -f7)"
    check "/var/lib/lampd is $(owner_mode /var/lib/lampd), not lampd:lampd 750" test "$(owner_mode /var/lib/lampd)" = "lampd:lampd 750"
    check "/var/lib/lampd/device-key is $(owner_mode /var/lib/lampd/device-key), not lampd:lampd 600" \
        test "$(owner_mode /var/lib/lampd/device-key)" = "lampd:lampd 600"
    check "/etc/lampd is $(owner_mode /etc/lampd), not root:root 755" test "$(owner_mode /etc/lampd)" = "root:root 755"
    for keys in /etc/lampd/city-keys /etc/lampd/city-keys/scheduler /etc/lampd/city-keys/operator; do
        check "$keys is $(owner_mode $keys), not root:root 755 (the city's pinned keys, docs/downlink.md)" test "$(owner_mode $keys)" = "root:root 755"
    done
    if [ $systemd = yes ]; then
        check "with systemd, lampd was not created by systemd-sysusers (GECOS from lampd.sysusers)" \
            test "$(in_root getent passwd lampd | cut -d: -f5)" = "lampd street-lamp controller"
        check "with systemd, postinst did not enable lampd.service (no multi-user.target.wants link; image builds run without a booted systemd)" \
            test -L "$wants"
    fi
    first=$(fingerprint)
    check "lampctl identity show --state-dir /var/lib/lampd fails in the root" test -n "$first"
    check "user lampd cannot read its own device key" in_root runuser -u lampd -- lampctl identity show --state-dir /var/lib/lampd
    digest=$(key_digest)
    for path in /lib/systemd/system/lampd.service /usr/lib/sysusers.d/lampd.conf /usr/lib/tmpfiles.d/lampd.conf; do
        check "$path is not installed" test -f "$root$path"
    done
    check "lampctl --version does not run in the root (missing shared libraries?)" in_root lampctl --version
    check "lampd --version does not run in the root (missing shared libraries?)" in_root lampd --version
    check "lamp-ingest --help does not run in the root (missing shared libraries?)" in_root lamp-ingest --help
    check "the live view's templates are not installed in /usr/share/lampd/live-view" test -f "$root/usr/share/lampd/live-view/map.mustache"
    # Time zones come from tzdata (a Depends), read by lampd itself: the shipped examples' zone loads.
    check "lampctl astro --tz Europe/Berlin fails in the root (tzdata missing?)" \
        in_root lampctl astro --lat 52.52 --lon 13.4 --date 2026-03-29 --tz Europe/Berlin
    check "the shipped raspberry-pi example does not pass config check in the root" \
        in_root lampctl config check /usr/share/lampd/examples/raspberry-pi.toml

    # 2. Reinstall over itself: postinst runs again and must keep the key.
    if dpkg_in_root reinstall.log -i /tmp/lampd.deb; then pass; else fail "dpkg -i over the installed package failed (output above)"; fi
    check "reinstalling changed the device key's fingerprint ($first -> $(fingerprint))" test "$(fingerprint)" = "$first"
    check "reinstalling rewrote the device key file" test "$(key_digest)" = "$digest"
    check "reinstalling announced a new device key" not_grep "lampd: device key created" "$root/tmp/reinstall.log"
    check "after reinstalling, /var/lib/lampd/device-key is $(owner_mode /var/lib/lampd/device-key)" \
        test "$(owner_mode /var/lib/lampd/device-key)" = "lampd:lampd 600"

    # 3. Remove: prerm and postrm run; the state (spool, key) stays.
    if dpkg_in_root remove.log -r lampd; then pass; else fail "dpkg -r lampd failed (prerm/postrm; output above)"; fi
    check "after dpkg -r, lampd is '$(status)' rather than rc (removed, postrm kept for purge)" test "$(status)" = rc
    check "dpkg -r left /usr/bin/lampd behind" test ! -e "$root/usr/bin/lampd"
    check "dpkg -r left the unit file behind" test ! -e "$root/lib/systemd/system/lampd.service"
    check "dpkg -r left lampd.service enabled (dangling multi-user.target.wants link)" test ! -L "$wants"
    check "dpkg -r deleted the device key (state must survive remove)" test "$(key_digest)" = "$digest"
    check "dpkg -r changed /var/lib/lampd to $(owner_mode /var/lib/lampd)" test "$(owner_mode /var/lib/lampd)" = "lampd:lampd 750"

    # 4. Install again after remove: the kept key is used, not replaced.
    if dpkg_in_root install-again.log -i /tmp/lampd.deb; then pass; else fail "dpkg -i after dpkg -r failed (output above)"; fi
    check "install after remove changed the fingerprint ($first -> $(fingerprint))" test "$(fingerprint)" = "$first"
    check "install after remove announced a new device key" not_grep "lampd: device key created" "$root/tmp/install-again.log"

    # 5. Purge: postrm purge deletes /var/lib/lampd (spool, key, counters); the
    #    lampd user and groups stay (Debian does not delete system users: files
    #    elsewhere may still be owned by the uid).
    if dpkg_in_root purge.log -P lampd; then pass; else fail "dpkg -P lampd failed (postrm purge; output above)"; fi
    check "after dpkg -P, dpkg still knows lampd ('$(status)')" test -z "$(status)"
    check "dpkg -P left /var/lib/lampd behind" test ! -e "$root/var/lib/lampd"
    check "dpkg -P left lampd.service enabled (dangling multi-user.target.wants link)" test ! -L "$wants"
    check "dpkg -P deleted the lampd user" in_root getent passwd lampd

    # 6. Install after purge (user already there): postinst must cope, with a new key.
    if dpkg_in_root install-purged.log -i /tmp/lampd.deb; then pass; else fail "dpkg -i after purge (user left over) failed (output above)"; fi
    check "install after purge did not create a device key" grep -q "lampd: device key created" "$root/tmp/install-purged.log"
    second=$(fingerprint)
    check "install after purge: no readable key" test -n "$second"
    check "install after purge reused the purged key ($second)" test "$second" != "$first"
    check "after install after purge, /var/lib/lampd/device-key is $(owner_mode /var/lib/lampd/device-key)" \
        test "$(owner_mode /var/lib/lampd/device-key)" = "lampd:lampd 600"
    check "install after purge: lampd is not in gpio" in_group gpio
    if dpkg_in_root purge-again.log -P lampd; then pass; else fail "the last dpkg -P lampd failed (output above)"; fi
    cleanup
}
run "minbase, no systemd" "$cache.tar"
run "minbase + systemd" "$cache-systemd.tar"

echo "test-install: $(basename "$deb") in $suite roots (minbase; minbase + systemd), $((SECONDS - started)) s"
echo "test-install: $passed passed, $failed failed"
[ "$failed" = 0 ]
