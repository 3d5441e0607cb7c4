#!/usr/bin/env bash
# Usage: scripts/base-image.sh DOCKER_HOST_SOCKET
#
# Makes the local Debian base image `debian:bookworm` (the name our Dockerfiles
# use in FROM) without pulling from the internet:
#   debootstrap --variant=minbase bookworm DIR http://deb.debian.org/debian
# The root file system is cached as a tarball at
# /var/cache/polarrun/bookworm-minbase.tar (override: POLARRUN_BASE_CACHE) and
# reused when present; it is then `docker import`ed unless the daemon already
# has the tag. DOCKER_HOST_SOCKET is the daemon's unix socket path
# (a leading unix:// is accepted). Runs as root. Prints the image id.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

[ "$#" -eq 1 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
sock=${1#unix://}
[ -S "$sock" ] || die "not a unix socket: $sock"
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, docker)"

tag=debian:bookworm
mirror=${POLARRUN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${POLARRUN_BASE_CACHE:-/var/cache/polarrun/bookworm-minbase.tar}

ensure_packages docker.io debootstrap

if docker_cli "$sock" image inspect --format '{{.Id}}' "$tag" 2>/dev/null; then
    log "$tag already present in the daemon"
    exit 0
fi

build_tarball() {
    local work root
    work=$(mktemp -d /tmp/polarrun-debootstrap.XXXXXX)
    root=$work/rootfs
    # Unmount anything debootstrap left mounted (it mounts proc/sys in the target) and clean up.
    cleanup_bootstrap() {
        local m
        if [ -d "$root" ]; then
            findmnt -rn -o TARGET | while IFS= read -r m; do
                m=$(printf '%b' "$m")
                case $m in "$root"/*) printf '%s\n' "$m" ;; esac
            done | sort -r | while IFS= read -r m; do
                umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
            done
        fi
        rm -rf --one-file-system "$work"
    }
    trap cleanup_bootstrap EXIT

    log "debootstrap --variant=minbase bookworm ($mirror); takes a few minutes"
    if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
        tail -n 30 "$work/debootstrap.log" >&2
        [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
        die "debootstrap failed"
    fi

    # apt inside the image: the same sources the official image has.
    cat >"$root/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
    # Container-friendly settings, as the official image (debuerreotype) has them:
    # no service starts from maintainer scripts, no apt caches kept in layers.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 0755 "$root/usr/sbin/policy-rc.d"
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    printf 'APT::AutoRemove::SuggestsImportant "false";\n' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
    printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    : >"$root/etc/resolv.conf"
    printf 'localhost\n' >"$root/etc/hostname"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
        "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log "$root"/tmp/* "$root"/debootstrap
    find "$root/dev" -mindepth 1 -delete

    mkdir -p "$(dirname "$cache")"
    local tmp
    tmp=$(mktemp "$(dirname "$cache")/.$(basename "$cache").XXXXXX")
    tar --numeric-owner --xattrs --acls --sort=name -C "$root" -cf "$tmp" .
    chmod 0644 "$tmp"
    mv -f "$tmp" "$cache"
    log "cached $cache ($(du -h "$cache" | cut -f1))"
    cleanup_bootstrap
    trap - EXIT
}

mkdir -p "$(dirname "$cache")"
# One builder at a time per cache file; the others wait and reuse its tarball.
exec 9>"$cache.lock"
flock 9
if [ ! -s "$cache" ]; then
    build_tarball
else
    log "reusing $cache"
fi

log "docker import $cache as $tag"
docker_cli "$sock" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message 'polarrun: debootstrap --variant=minbase bookworm' \
    "$cache" "$tag" >/dev/null
docker_cli "$sock" image inspect --format '{{.Id}}' "$tag"
