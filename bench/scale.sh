#!/usr/bin/env bash
# Usage: bench/scale.sh [RUNS]   (default 5; run as root from anywhere)
#
# Cost over growing work, with the slope (time ratio per 10x more work; 10 is linear):
#   (a) image.yml validation: `polarrun build.lua --dry-run` on 10 / 100 / 1,000 images and the
#       largest file the 1 MiB YAML cap admits (engine + manager pairs, as in image.yml);
#   (b) sql() returning 1e3 / 1e5 / 1e6 rows (two columns) against `psql -X -Atc` on the same
#       query and the same throwaway PostgreSQL 15 cluster: median time and peak RSS;
#   (c) the manager log, 1e5 lines rotated at 1 MiB (keep 3), against a Python writer of the
#       same protocol (see below).
# Medians of RUNS runs (hyperfine -N; RSS from /usr/bin/time -v), all measured in one run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-5}
. bench/lib.sh
bench_setup 5497
root=$PWD
out=$tmp/results
: > "$out"
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
rss_kb() {   # median peak RSS (KB) of RUNS runs of "$@"
    for _ in $(seq "$runs"); do
        /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'
    done | median
}
hf() {   # hf NAME COMMAND: median seconds of RUNS runs (1 warm-up)
    hyperfine --warmup 1 --runs "$runs" -N --export-json "$tmp/h.json" -n "$1" "$2" >/dev/null 2>&1
    python3 -c 'import json,statistics,sys; print(statistics.median(json.load(open(sys.argv[1]))["results"][0]["times"]))' "$tmp/h.json"
}

# (a) image.yml validation ---------------------------------------------------------------
proj=$tmp/proj
mkdir -p "$proj"
cp -r "$root/docker" "$root/rootfs" "$proj/"
gen() {   # gen N: N images (N/2 engine + manager pairs) on stdout
    python3 - "$1" <<'PY'
import sys
n = int(sys.argv[1])
out = ["result: image.result", "images:"]
for i in range(n // 2):
    out += [f"  - id: engine_{i}", "    type: engine", f"    build_image_name: polardb_pg/engine_{i}",
            "    build_image_dockerfile: ./docker/Dockerfile.pg.engine.release",
            "    engine_repo: https://github.com/ApsaraDB/PolarDB-for-PostgreSQL.git",
            "    engine_branch: POLARDB_11_STABLE",
            "    engine_config_template: src/backend/utils/misc/postgresql.conf.sample",
            f"  - id: manager_{i}", "    type: manager", f"    build_image_name: polardb_pg/manager_{i}",
            "    build_image_dockerfile: ./docker/Dockerfile.manager", f"    engine_image_id: engine_{i}"]
print("\n".join(out))
PY
}
# the largest even N whose file fits the cap (1 MiB)
max=$(python3 -c "
per = len('''$(gen 2 | tail -n +3)''') + 1
print((1048576 - 40) // per * 2)")
while [ "$(gen "$max" | wc -c)" -gt 1048576 ]; do max=$((max - 2)); done
echo "(a) image.yml validation, dry run ($max images is the most the 1 MiB cap admits)" | tee -a "$out"
prev=""; prevn=""
for n in 10 100 1000 "$max"; do
    gen "$n" > "$proj/image-$n.yml"
    cmd="$polarrun --quiet $root/runbooks/build.lua --dry-run image_file=$proj/image-$n.yml polarrun_binary=$polarrun cache_dir=$tmp/cache"
    $cmd >/dev/null   # fails loudly here rather than timing an error
    t=$(hf "n$n" "$cmd")
    slope=""
    if [ -n "$prev" ]; then
        slope=$(python3 -c "import math; t,p,n,m=$t,$prev,$n,$prevn; print(f'slope per 10x {(t/p) ** (1 / math.log10(n/m)):.2f}')")
    fi
    printf '  %6d images  %8.1f ms  %7.3f ms/image  %s\n' "$n" "$(python3 -c "print($t*1000)")" \
        "$(python3 -c "print($t*1000/$n)")" "$slope" | tee -a "$out"
    prev=$t; prevn=$n
done

# (b) sql() rows against psql ------------------------------------------------------------
printf -- 'local p = polarrun.inputs {n = {type = "integer"}}\nlocal rows = sql("select g as i, %s || g as t from generate_series(1, " .. p.n .. ") g")\nreturn #rows\n' \
    "'row '" > "$tmp/rows.lua"
echo "(b) sql() returning N rows vs psql -X -Atc (median time, median peak RSS)" | tee -a "$out"
prev=""; prevq=""; prevn=""
for n in 1000 100000 1000000; do
    q="select g as i, 'row ' || g as t from generate_series(1, $n) g"
    tp=$(hf "polarrun$n" "$polarrun --quiet $tmp/rows.lua n=$n")
    tq=$(hf "psql$n" "$bin/psql -X -U postgres -d postgres -Atc \"$q\"")
    mp=$(rss_kb "$polarrun" --quiet "$tmp/rows.lua" "n=$n")
    mq=$(rss_kb "$bin/psql" -X -U postgres -d postgres -Atc "$q")
    python3 - "$n" "$tp" "$tq" "$mp" "$mq" "$prev" "$prevq" "$prevn" <<'PY' | tee -a "$out"
import math, sys
n, tp, tq, mp, mq = int(sys.argv[1]), *map(float, sys.argv[2:6])
s = ""
if sys.argv[6]:
    e = 1 / math.log10(n / int(sys.argv[8]))
    s = f"  slope per 10x: polarrun {(tp / float(sys.argv[6])) ** e:.2f}, psql {(tq / float(sys.argv[7])) ** e:.2f}"
print(f"  {n:>8} rows  polarrun {tp*1000:8.1f} ms {mp/1024:6.1f} MB   psql {tq*1000:8.1f} ms {mq/1024:6.1f} MB"
      f"   ratio time {tp/tq:4.2f}x  RSS {mp/mq:4.2f}x{s}")
PY
    prev=$tp; prevq=$tq; prevn=$n
done

# (c) manager log ------------------------------------------------------------------------
# Baseline: Python doing per line what ManagerLog.write does (flock of FILE.lock, stat the
# path and fstat the descriptor to notice another writer's rotation, rotate at the limit,
# one write(2) of a timestamped line) — the same durability and locking, so the ratio is the
# cost of polarrun's path (Lua call, masking, formatting), not of a cheaper protocol. A shell
# `echo >> file` loop would do no locking or rotation (and open the file once per line).
n=100000
cat > "$tmp/log.lua" <<EOF
for i = 1, $n do log.info("line " .. i .. " of the benchmark, some ordinary text") end
EOF
cat > "$tmp/log.py" <<'PY'
import fcntl, os, sys, time
path, n, limit, keep = sys.argv[1], int(sys.argv[2]), 1 << 20, 3
lock = os.open(path + ".lock", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
for i in range(1, n + 1):
    now = time.time()
    line = (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ INFO  run-id log.py:2 line %d of the benchmark, some ordinary text\n"
            % (int(now * 1000) % 1000, i)).encode()
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        st, cur = os.stat(path), os.fstat(fd)
        if (st.st_ino, st.st_dev) != (cur.st_ino, cur.st_dev):
            os.close(fd); fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644); cur = os.fstat(fd)
    except FileNotFoundError:
        os.close(fd); fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644); cur = os.fstat(fd)
    if cur.st_size > 0 and cur.st_size + len(line) > limit:
        for k in range(keep - 1, 0, -1):
            try: os.rename(f"{path}.{k}", f"{path}.{k + 1}")
            except FileNotFoundError: pass
        os.rename(path, path + ".1")
        os.close(fd); fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    os.write(fd, line)
    fcntl.flock(lock, fcntl.LOCK_UN)
PY
mkdir -p "$tmp/log"
export POLARRUN_LOG_MAX_BYTES=1048576 POLARRUN_LOG_KEEP=3
tp=$(hf polarrun-log "$polarrun --quiet --log-file $tmp/log/p.log $tmp/log.lua")
tq=$(hf python-log "python3 $tmp/log.py $tmp/log/q.log $n")
sed -i "s/1, $n/1, 10000/" "$tmp/log.lua"
tp1=$(hf polarrun-log-1e4 "$polarrun --quiet --log-file $tmp/log/p1.log $tmp/log.lua")
tq1=$(hf python-log-1e4 "python3 $tmp/log.py $tmp/log/q1.log 10000")
echo "(c) manager log, rotation at 1 MiB keeping 3 (rotated files: $(ls "$tmp"/log/p.log.* | wc -l))" | tee -a "$out"
python3 - "$tp" "$tq" "$tp1" "$tq1" <<'PY' | tee -a "$out"
import sys
tp, tq, tp1, tq1 = map(float, sys.argv[1:])
print(f"     10000 lines  polarrun {tp1*1000:8.1f} ms   python (same protocol) {tq1*1000:8.1f} ms   ratio {tp1/tq1:4.2f}x")
print(f"    100000 lines  polarrun {tp*1000:8.1f} ms   python (same protocol) {tq*1000:8.1f} ms   ratio {tp/tq:4.2f}x"
      f"   slope per 10x: polarrun {tp/tp1:.2f}, python {tq/tq1:.2f}")
PY
echo "(machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$out"
