#!/usr/bin/env bash
# Usage: scripts/docker-up.sh STATE_DIR
#
# Starts a private Docker daemon and a loopback registry for real tests:
#   dockerd on unix socket STATE_DIR/docker.sock (data-root, exec-root, pidfile,
#     log in STATE_DIR; overlay2, no iptables, no bridge);
#   Debian's docker-registry (distribution v2) on 127.0.0.1:PORT, a free port
#     chosen here, storage STATE_DIR/registry, config STATE_DIR/registry.yml;
# checks that a push to the registry works, then runs scripts/base-image.sh so
# the daemon has debian:bookworm. Writes STATE_DIR/env (sourceable KEY=VALUE):
#   DOCKER_HOST=unix://STATE_DIR/docker.sock
#   POLARRUN_TEST_REGISTRY=127.0.0.1:PORT
#   POLARRUN_DOCKER=/usr/bin/docker  DOCKERD_PID=...  REGISTRY_PID=...
# Stop everything with scripts/docker-down.sh STATE_DIR. Runs as root.
set -euo pipefail

here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$here/lib/common.sh"

[ "$#" -eq 1 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "must run as root"
state=$(abs_path "$1")
sock=$state/docker.sock
# sun_path holds 108 bytes; dockerd fails obscurely beyond that.
[ "${#sock}" -lt 100 ] || die "state dir path too long for a unix socket: $sock"

ensure_packages docker.io docker-registry debootstrap curl ca-certificates

if [ -e "$state/dockerd.pid" ] && pid_alive "$(cat "$state/dockerd.pid" 2>/dev/null || true)"; then
    die "a dockerd already runs for $state (pid $(cat "$state/dockerd.pid")); run docker-down.sh first"
fi
mkdir -p "$state"
touch "$state/$STATE_MARKER"

dockerd_pid=
registry_pid=
started_ok=0
on_exit() {
    [ "$started_ok" -eq 1 ] && return 0
    log "start-up failed; stopping what was started"
    [ -n "$registry_pid" ] && stop_pid "$registry_pid" 10
    [ -n "$dockerd_pid" ] && stop_pid "$dockerd_pid" 30
    return 0
}
trap on_exit EXIT

# --- dockerd ----------------------------------------------------------------
printf '{}\n' >"$state/daemon.json"   # ignore /etc/docker/daemon.json of the machine
mkdir -p "$state/data" "$state/exec"
log "starting dockerd on $sock"
setsid /usr/sbin/dockerd \
    --config-file "$state/daemon.json" \
    --host "unix://$sock" \
    --data-root "$state/data" \
    --exec-root "$state/exec" \
    --pidfile "$state/dockerd.pid" \
    --storage-driver overlay2 \
    --iptables=false --ip6tables=false --bridge=none \
    >>"$state/dockerd.log" 2>&1 </dev/null &
dockerd_pid=$!

ready=0
for ((i = 0; i < 600; i++)); do
    if ! pid_alive "$dockerd_pid"; then
        log "dockerd exited during start-up; last lines of $state/dockerd.log:"
        tail -n 30 "$state/dockerd.log" >&2
        exit 1
    fi
    if [ -S "$sock" ] && docker_cli "$sock" version --format '{{.Server.Version}}' >/dev/null 2>&1; then
        ready=1
        break
    fi
    sleep 0.1
done
if [ "$ready" -ne 1 ]; then
    log "dockerd did not answer on $sock within 60s; last lines of $state/dockerd.log:"
    tail -n 30 "$state/dockerd.log" >&2
    exit 1
fi
driver=$(docker_cli "$sock" info --format '{{.Driver}}')
[ "$driver" = overlay2 ] || die "dockerd uses storage driver '$driver', expected overlay2"
log "dockerd ready (pid $dockerd_pid)"

# --- registry ---------------------------------------------------------------
port=
for ((attempt = 0; attempt < 20; attempt++)); do
    candidate=$((20000 + RANDOM % 40000))
    port_in_use "$candidate" && continue
    rc=0
    registry_pid=$(registry_launch "$state" "$candidate") || rc=$?
    if [ "$rc" -eq 0 ]; then
        port=$candidate
        break
    fi
    registry_pid=
    [ "$rc" -eq 2 ] || die "docker-registry failed to start"
done
[ -n "$port" ] || die "no free loopback port found for docker-registry"
printf '%s\n' "$port" >"$state/registry.port"
write_env "$state" "$dockerd_pid" "$port" "$registry_pid"
log "registry ready on 127.0.0.1:$port (pid $registry_pid)"

# --- push check (loopback registries are insecure-allowed: 127.0.0.0/8) -------
probe=$(mktemp -d /tmp/polarrun-probe.XXXXXX)
printf 'polarrun registry probe\n' >"$probe/probe.txt"
probe_ref=127.0.0.1:$port/polarrun-probe:latest
tar -C "$probe" -cf - probe.txt | docker_cli "$sock" import - "$probe_ref" >/dev/null
rm -rf "$probe"
if ! push_out=$(docker_cli "$sock" push "$probe_ref" 2>&1); then
    printf '%s\n' "$push_out" >&2
    die "push to 127.0.0.1:$port failed"
fi
docker_cli "$sock" rmi "$probe_ref" >/dev/null
log "push to 127.0.0.1:$port works"

# --- base image ---------------------------------------------------------------
"$here/base-image.sh" "$sock" >/dev/null

started_ok=1
log "ready; source $state/env"
cat "$state/env"
