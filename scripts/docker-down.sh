#!/usr/bin/env bash
# Usage: scripts/docker-down.sh STATE_DIR
#
# Undoes scripts/docker-up.sh: stops the registry and dockerd (waits for them to
# exit; SIGKILL after a timeout), stops leftover processes that still use
# STATE_DIR (managed containerd, shims), unmounts everything under STATE_DIR and
# removes it. Does nothing when STATE_DIR does not exist; refuses to delete a
# directory that docker-up.sh did not create. Runs as root.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

[ "$#" -eq 1 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
state=$(abs_path "$1")
[ -e "$state" ] || exit 0
[ "$state" != / ] || die "refusing to remove /"
[ -f "$state/$STATE_MARKER" ] || die "$state was not created by docker-up.sh (no $STATE_MARKER); not touching it"

# 1. registry
rpid=$(cat "$state/registry.pid" 2>/dev/null || read_kv "$state/env" REGISTRY_PID)
if [ -n "$rpid" ] && pid_alive "$rpid" && grep -qa docker-registry "/proc/$rpid/cmdline" 2>/dev/null; then
    stop_pid "$rpid" 10
fi

# 2. dockerd (it stops its containers and its managed containerd on SIGTERM)
dpid=$(cat "$state/dockerd.pid" 2>/dev/null || read_kv "$state/env" DOCKERD_PID)
if [ -n "$dpid" ] && pid_alive "$dpid" && grep -qa dockerd "/proc/$dpid/cmdline" 2>/dev/null; then
    stop_pid "$dpid" 60
fi

# 3. leftovers whose command line names this state dir (after a SIGKILL of dockerd:
#    containerd, containerd-shim, docker-registry). Only daemon programs whose
#    command line names this exact state dir; never the caller's shells.
leftovers() {
    local d pid comm
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        comm=$(cat "$d/comm" 2>/dev/null) || continue
        case $comm in
            dockerd | containerd | containerd-shim* | docker-registry | runc | docker-proxy) ;;
            *) continue ;;
        esac
        tr '\0' '\n' <"$d/cmdline" 2>/dev/null | grep -qF -e "$state/" -e "unix://$state" || continue
        printf '%s\n' "$pid"
    done
}
for pid in $(leftovers); do
    log "stopping leftover pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    stop_pid "$pid" 10
done

# 4. processes still inside containers of this daemon (left when dockerd or a
#    shim was killed): matched by container id in /proc/PID/cgroup, v1 and v2.
declare -A ids=()
for d in "$state"/data/containers/*/; do
    [ -d "$d" ] || continue
    id=${d%/}
    id=${id##*/}
    if [ "${#id}" -eq 64 ]; then ids[$id]=1; fi
done
if [ "${#ids[@]}" -gt 0 ]; then
    for d in /proc/[0-9]*; do
        cg=$(cat "$d/cgroup" 2>/dev/null) || continue
        while IFS= read -r line; do
            id=${line##*/}       # .../docker/<id>  or  .../docker-<id>.scope
            id=${id#docker-}
            id=${id%.scope}
            if [ -n "$id" ] && [ -n "${ids[$id]:-}" ]; then
                log "killing pid ${d#/proc/} left in container ${id:0:12}"
                kill -KILL "${d#/proc/}" 2>/dev/null || true
                break
            fi
        done <<<"$cg"
    done
    sleep 0.2
    for id in "${!ids[@]}"; do   # empty cgroups the daemon did not get to remove
        for cg in /sys/fs/cgroup/docker/"$id" /sys/fs/cgroup/*/docker/"$id" \
            /sys/fs/cgroup/system.slice/docker-"$id".scope /sys/fs/cgroup/*/system.slice/docker-"$id".scope; do
            if [ -d "$cg" ]; then rmdir "$cg" 2>/dev/null || true; fi
        done
    done
fi

# 5. mounts under the state dir (overlay layers, netns, shm), deepest first
mounts_under() {
    local m
    findmnt -rn -o TARGET | while IFS= read -r m; do
        m=$(printf '%b' "$m")
        case $m in "$state"/*) printf '%s\n' "$m" ;; esac
    done | sort -r
}
for _ in 1 2 3; do
    left=$(mounts_under)
    [ -z "$left" ] && break
    while IFS= read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "cannot unmount $m"
    done <<<"$left"
done
[ -z "$(mounts_under)" ] || die "mounts remain under $state: $(mounts_under | tr '\n' ' ')"

# 6. remove
rm -rf --one-file-system -- "$state"
log "removed $state"
