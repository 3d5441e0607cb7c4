#!/usr/bin/env bash
# Usage: scripts/registry-ctl.sh STATE_DIR stop|start|status
#
# Stops or restarts only the loopback registry started by docker-up.sh, on the
# same port and with the same storage (tests use it to simulate an outage).
#   stop    SIGTERM the registry and wait until it has exited (no-op when down)
#   start   start it again on the port recorded in STATE_DIR/registry.port and
#           wait until http://127.0.0.1:PORT/v2/ answers (no-op when up);
#           updates REGISTRY_PID in STATE_DIR/env
#   status  print "up PORT PID" or "down PORT"; exit 0 when up, 3 when down
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

[ "$#" -eq 2 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
state=$(abs_path "$1")
action=$2
if [ ! -f "$state/$STATE_MARKER" ] || [ ! -f "$state/registry.port" ]; then
    die "$state is not a state dir of docker-up.sh"
fi
port=$(cat "$state/registry.port")
pid=$(cat "$state/registry.pid" 2>/dev/null || true)

is_up() {
    [ -n "$pid" ] && pid_alive "$pid" && grep -qa 'docker-registry' "/proc/$pid/cmdline" 2>/dev/null
}

case $action in
    stop)
        if is_up; then
            stop_pid "$pid" 10
        fi
        rm -f "$state/registry.pid"
        log "registry on 127.0.0.1:$port stopped"
        ;;
    start)
        if is_up && registry_answers "$port"; then
            log "registry already up on 127.0.0.1:$port"
            exit 0
        fi
        rc=0
        pid=$(registry_launch "$state" "$port") || rc=$?
        [ "$rc" -eq 2 ] && die "port 127.0.0.1:$port is taken by another process"
        [ "$rc" -eq 0 ] || die "docker-registry failed to start"
        write_env "$state" "$(read_kv "$state/env" DOCKERD_PID)" "$port" "$pid"
        log "registry up on 127.0.0.1:$port (pid $pid)"
        ;;
    status)
        if is_up; then
            printf 'up %s %s\n' "$port" "$pid"
        else
            printf 'down %s\n' "$port"
            exit 3
        fi
        ;;
    *) die "unknown action '$action' (stop|start|status)" ;;
esac
