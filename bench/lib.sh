# shellcheck shell=bash
# Shared set-up of the benchmarks: source it from bench/*.sh (run as root from the repository).
#   bench_setup PORT   builds polarrun (release, static Swift runtime) into $polarrun, makes a
#                      throwaway PostgreSQL 15 cluster in $tmp/pg listening on the unix socket in
#                      its data directory, starts it, and stops and removes it on exit.
bin=/usr/lib/postgresql/15/bin

bench_setup() {
    local port=$1
    command -v hyperfine >/dev/null || apt-get install -y hyperfine >/dev/null
    swift build -c release --static-swift-stdlib --product polarrun >/dev/null
    polarrun=$PWD/.build/release/polarrun
    tmp=$(mktemp -d /tmp/polarrun-bench.XXXXXX)
    chmod 755 "$tmp"
    trap 'runuser -u postgres -- "$bin/pg_ctl" stop -D "$tmp/pg" -m immediate >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
    install -d -o postgres -g postgres -m 700 "$tmp/pg"
    runuser -u postgres -- "$bin/initdb" -D "$tmp/pg" -U postgres --auth-local=trust --no-sync >/dev/null
    printf "unix_socket_directories = '.'\nlisten_addresses = ''\nport = %s\nfsync = off\n" "$port" >> "$tmp/pg/postgresql.conf"
    runuser -u postgres -- "$bin/pg_ctl" start -D "$tmp/pg" -w -l "$tmp/pg/server.log" >/dev/null
    export PGHOST=$tmp/pg PGPORT=$port
}
