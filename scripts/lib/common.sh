# shellcheck shell=bash
# Shared helpers for the scripts in scripts/. Source it, do not run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
#
# Provides: die, log, ensure_packages PKG..., abs_path PATH, docker_cli SOCKET ARGS...,
# wait_pid_exit PID SECONDS, stop_pid PID SECONDS, registry_* helpers.

# The Debian client. /usr/local/bin/docker may be a different (newer) client.
DOCKER_BIN=/usr/bin/docker

die() {
    printf '%s: error: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

log() {
    printf '%s: %s\n' "${0##*/}" "$*" >&2
}

_apt_updated=0

# ensure_packages PKG... : install the Debian packages that are not installed yet.
# Runs `apt-get update` at most once per process.
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing packages ${missing[*]} and not root"
    log "installing ${missing[*]}"
    if [ "$_apt_updated" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update >&2
        _apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

# abs_path PATH : absolute, normalised path (need not exist).
abs_path() {
    realpath -m -- "$1"
}

# docker_cli SOCKET ARGS... : run the Debian docker client against SOCKET.
docker_cli() {
    local sock=$1
    shift
    "$DOCKER_BIN" -H "unix://$sock" "$@"
}

# pid_alive PID : true when PID runs and is not a zombie.
pid_alive() {
    local pid=$1 state
    [ -n "$pid" ] || return 1
    [ -r "/proc/$pid/stat" ] || return 1
    state=$(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ "$state" != Z ] && [ -n "$state" ]
}

# wait_pid_exit PID SECONDS : wait until PID is gone; false on timeout.
wait_pid_exit() {
    local pid=$1 secs=$2 i
    for ((i = 0; i < secs * 10; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    ! pid_alive "$pid"
}

# stop_pid PID SECONDS : SIGTERM, wait up to SECONDS, then SIGKILL and wait.
stop_pid() {
    local pid=$1 secs=$2
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_pid_exit "$pid" "$secs"; then
        log "pid $pid did not exit after ${secs}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_pid_exit "$pid" 10 || die "pid $pid survived SIGKILL"
    fi
}

# read_kv FILE KEY : value of KEY=VALUE line in FILE (empty when absent).
read_kv() {
    local file=$1 key=$2 line
    [ -r "$file" ] || return 0
    while IFS= read -r line; do
        case $line in
            "$key="*) printf '%s\n' "${line#"$key="}"; return 0 ;;
        esac
    done <"$file"
}

# --- registry (Debian docker-registry, distribution v2) --------------------

# registry_write_config STATE_DIR PORT
registry_write_config() {
    local state=$1 port=$2
    mkdir -p "$state/registry"
    cat >"$state/registry.yml.tmp" <<EOF
version: 0.1
log:
  level: info
  fields:
    service: polarrun-test-registry
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: polarrun-test-registry-not-secret
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: false
EOF
    mv -f "$state/registry.yml.tmp" "$state/registry.yml"
}

# registry_answers PORT : true when GET /v2/ answers 200.
registry_answers() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/v2/" 2>/dev/null) || return 1
    [ "$code" = 200 ]
}

# port_in_use PORT : true when something accepts connections on 127.0.0.1:PORT.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# registry_launch STATE_DIR PORT : start the registry in the background (own session),
# wait until it answers; prints its pid. Returns 2 when the port was taken,
# 1 on other failures (log tail on stderr).
registry_launch() {
    local state=$1 port=$2 pid i
    registry_write_config "$state" "$port"
    setsid /usr/bin/docker-registry serve "$state/registry.yml" \
        >>"$state/registry.log" 2>&1 </dev/null &
    pid=$!
    for ((i = 0; i < 300; i++)); do
        if registry_answers "$port"; then
            printf '%s\n' "$pid" >"$state/registry.pid"
            printf '%s\n' "$pid"
            return 0
        fi
        if ! pid_alive "$pid"; then
            if tail -n 5 "$state/registry.log" | grep -q 'address already in use'; then
                return 2
            fi
            log "docker-registry exited; last lines of $state/registry.log:"
            tail -n 20 "$state/registry.log" >&2
            return 1
        fi
        sleep 0.1
    done
    log "docker-registry did not answer on 127.0.0.1:$port within 30s; last lines of $state/registry.log:"
    tail -n 20 "$state/registry.log" >&2
    stop_pid "$pid" 5
    return 1
}

# write_env STATE_DIR DOCKERD_PID PORT REGISTRY_PID : (re)write STATE_DIR/env atomically.
write_env() {
    local state=$1 dpid=$2 port=$3 rpid=$4
    cat >"$state/env.tmp" <<EOF
DOCKER_HOST=unix://$state/docker.sock
POLARRUN_TEST_REGISTRY=127.0.0.1:$port
POLARRUN_DOCKER=$DOCKER_BIN
DOCKERD_PID=$dpid
REGISTRY_PID=$rpid
EOF
    mv -f "$state/env.tmp" "$state/env"
}

# STATE_MARKER: created by docker-up.sh; docker-down.sh refuses to delete a directory without it.
# shellcheck disable=SC2034 # used by the scripts that source this file
STATE_MARKER=.polarrun-docker-state
