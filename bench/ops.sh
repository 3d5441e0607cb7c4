#!/usr/bin/env bash
# Usage: bench/ops.sh [RUNS]
#
# Manager operations against their by-hand psql equivalents, on one throwaway PostgreSQL 15
# cluster, release build of polarrun (static Swift runtime). Prints medians (ms) and ratios.
#   health_check runbook            vs  psql -Atc 'select 1'
#   lock_disk_full, from invocation until an ordinary user's INSERT is refused
#                                   vs  sed the conf + pg_ctl reload + psql terminate (+ the same refusal check)
# Run as root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-15}
. bench/lib.sh
bench_setup 5498
runbooks=$PWD/runbooks

export PGDATA=$tmp/pg POLARRUN_PG_BIN=$bin
pr() { "$polarrun" --quiet --log-file "$tmp/manager.log" "$@"; }
q() { "$bin/psql" -X -U postgres -d postgres -Atqc "$1"; }
pr "$runbooks/create_user.lua" user=app password=app-bench-pw privilege=1
q "create table t (x int); grant all on t to app"
pr "$runbooks/unlock_disk_full.lua" reserve_mb=0        # prepares the lock (as supervise does)

hyperfine --warmup 3 --runs "$((runs * 2))" -N --export-json "$tmp/h.json" \
    -n health_check "$polarrun --quiet --log-file $tmp/manager.log $runbooks/health_check.lua" \
    -n psql "$bin/psql -X -U postgres -d postgres -Atc 'select 1'" >/dev/null

ms() { echo $(( $(date +%s%N) / 1000000 )); }
refused() {   # until an ordinary user's write is refused
  until ! "$bin/psql" -X -U app -d postgres -Atqc "insert into t values (1)" >/dev/null 2>&1; do :; done
}
conf=$tmp/pg/postgresql.conf
manual_lock() {
  sed -i '/^default_transaction_read_only/d' "$conf"
  echo "default_transaction_read_only = on" >> "$conf"
  runuser -u postgres -- "$bin/pg_ctl" reload -D "$tmp/pg" >/dev/null
  q "select pg_terminate_backend(a.pid) from pg_stat_activity a join pg_roles r on r.oid = a.usesysid
     where a.backend_type = 'client backend' and not r.rolsuper and a.pid <> pg_backend_pid()" >/dev/null
}
manual_unlock() {
  sed -i '/^default_transaction_read_only/d' "$conf"
  runuser -u postgres -- "$bin/pg_ctl" reload -D "$tmp/pg" >/dev/null
  sleep 0.2
}
: > "$tmp/lock.txt"; : > "$tmp/manual.txt"
for i in $(seq "$runs"); do
  pr "$runbooks/unlock_disk_full.lua" reserve_mb=0; sleep 0.2
  t0=$(ms); pr "$runbooks/lock_disk_full.lua" reserve_mb=0 >/dev/null 2>&1; refused; echo $(( $(ms) - t0 )) >> "$tmp/lock.txt"
  pr "$runbooks/unlock_disk_full.lua" reserve_mb=0
  q "alter role postgres set default_transaction_read_only = off" 2>/dev/null
  sleep 0.2
  t0=$(ms); manual_lock; refused; echo $(( $(ms) - t0 )) >> "$tmp/manual.txt"
  manual_unlock
done

python3 - "$tmp/h.json" "$tmp/lock.txt" "$tmp/manual.txt" <<'PY'
import json, statistics, sys
r = {x["command"]: statistics.median(x["times"]) * 1000 for x in json.load(open(sys.argv[1]))["results"]}
lock = statistics.median(float(x) for x in open(sys.argv[2]))
man = statistics.median(float(x) for x in open(sys.argv[3]))
print(f"health_check runbook          {r['health_check']:7.2f} ms")
print(f"psql -Atc 'select 1'          {r['psql']:7.2f} ms")
print(f"ratio health_check/psql       {r['health_check'] / r['psql']:7.2f}x")
print(f"lock_disk_full until refused  {lock:7.1f} ms")
print(f"by hand (sed+reload+psql)     {man:7.1f} ms")
print(f"ratio lock_disk_full/by hand  {lock / man:7.2f}x")
PY
