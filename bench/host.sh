#!/usr/bin/env bash
# Usage: bench/host.sh [RUNS]
#
# Start-up and SQL round trip of the polarrun host against their floors, side by side in one
# hyperfine run on one throwaway PostgreSQL 15 cluster (unix socket), release build with the
# static Swift runtime: a trivial runbook against `lua5.4 -e ''`, a `select 1` runbook against
# `psql -X -Atc 'select 1'`. Prints medians (ms), the ratios (issue 14, goal 3: <= 3x and
# <= 1.2x), the binary's size (goal 2: <= 20 MB), the shared libraries it loads at start, and
# callgrind instruction counts (repeatable where wall-clock times are not), with the top of
# callgrind_annotate for the trivial runbook. Run as root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-30}
. bench/lib.sh
bench_setup 5499

printf -- '-- nothing\nreturn 1\n' > "$tmp/trivial.lua"
printf -- 'return sql("select 1 as one")[1].one\n' > "$tmp/select1.lua"

hyperfine --warmup 3 --runs "$runs" -N --export-json "$tmp/h.json" \
    -n trivial "$polarrun $tmp/trivial.lua" \
    -n lua "lua5.4 -e ''" \
    -n select1 "$polarrun $tmp/select1.lua" \
    -n psql "$bin/psql -X -U postgres -d postgres -Atc 'select 1'" >/dev/null

python3 - "$tmp/h.json" <<'PY'
import json, statistics, sys
r = {x["command"]: statistics.median(x["times"]) * 1000 for x in json.load(open(sys.argv[1]))["results"]}
print(f"trivial runbook      {r['trivial']:6.2f} ms")
print(f"lua5.4 -e ''         {r['lua']:6.2f} ms")
print(f"ratio trivial/lua    {r['trivial'] / r['lua']:6.2f}x (goal <= 3x)")
print(f"select 1 runbook     {r['select1']:6.2f} ms")
print(f"psql -Atc 'select 1' {r['psql']:6.2f} ms")
print(f"ratio select1/psql   {r['select1'] / r['psql']:6.2f}x (goal <= 1.2x)")
PY
printf 'binary               %s bytes (%.2f MB)\n' "$(stat -c %s "$polarrun")" "$(echo "$(stat -c %s "$polarrun") / 1000000" | bc -l)"
printf 'loaded at start      %s\n' "$(ldd "$polarrun" | awk '{print $1}' | tr '\n' ' ')"
if command -v valgrind >/dev/null; then
    count() { valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" "${@:2}" 2>&1 >/dev/null | sed -n 's/.*Collected : //p'; }
    t=$(count trivial "$polarrun" "$tmp/trivial.lua"); l=$(count lua lua5.4 -e '')
    s=$(count select1 "$polarrun" "$tmp/select1.lua"); p=$(count psql "$bin/psql" -X -U postgres -d postgres -Atc 'select 1')
    echo "instructions (callgrind): trivial $t, lua5.4 $l ($(echo "$t / $l" | bc -l | cut -c1-4)x); select1 $s, psql $p ($(echo "$s / $p" | bc -l | cut -c1-4)x)"
    callgrind_annotate --inclusive=yes "$tmp/cg.trivial" 2>/dev/null | sed -n '/file:function/,$p' | head -25
fi
