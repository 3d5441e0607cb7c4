#!/usr/bin/env bash
# Usage: bench/host.sh [RUNS]
#
# Start-up and SQL round trip of the polarrun host against the psql baseline, on one
# throwaway PostgreSQL 15 cluster (unix socket), release build with the static Swift
# runtime. Prints medians (ms) and the ratio polarrun/psql. Run as root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-30}
. bench/lib.sh
bench_setup 5499

printf -- '-- nothing\nreturn 1\n' > "$tmp/trivial.lua"
printf -- 'return sql("select 1 as one")[1].one\n' > "$tmp/select1.lua"

hyperfine --warmup 3 --runs "$runs" -N --export-json "$tmp/h.json" \
    -n trivial "$polarrun $tmp/trivial.lua" \
    -n select1 "$polarrun $tmp/select1.lua" \
    -n psql "$bin/psql -X -U postgres -d postgres -Atc 'select 1'" >/dev/null

python3 - "$tmp/h.json" <<'PY'
import json, statistics, sys
r = {x["command"]: statistics.median(x["times"]) * 1000 for x in json.load(open(sys.argv[1]))["results"]}
print(f"trivial runbook      {r['trivial']:6.2f} ms (goal < 15 ms)")
print(f"select 1 runbook     {r['select1']:6.2f} ms")
print(f"psql -Atc 'select 1' {r['psql']:6.2f} ms")
print(f"ratio select1/psql   {r['select1'] / r['psql']:6.2f}x (goal <= 1.5x)")
PY
