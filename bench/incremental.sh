#!/usr/bin/env bash
# Usage: bench/incremental.sh SOURCE [RUNS]      (run as root from anywhere)
#
# Incremental engine builds (issue 14, goal 1): times `polarrun build.lua` building one engine
# image three ways, RUNS times (default 1), and prints the medians:
#   clean     no_cache=true: Docker's layer cache and the compiler cache mount start empty
#   no-change the same commit again: as a user runs it (inputs unchanged: the image is re-tagged),
#             and with reuse=false (every Dockerfile step from Docker's layer cache)
#   one-file  after a commit that changes one .c file: the compile step runs again, ccache
#             (BuildKit cache mount) answers for every other file
# SOURCE is `fixture` (scripts/make-engine-repo.sh and scripts/fixtures/Dockerfile.engine.fixture,
# whose build stage compiles the fixture's src/tools) or the path of a PolarDB for PostgreSQL 15
# repository with the branch POLARDB_15_STABLE (built with docker/Dockerfile.pg.engine.release).
# The source is cloned into a scratch directory: commits are made there, never in SOURCE.
#
# Environment: DOCKER_ENV=FILE uses a running daemon (the env file of scripts/docker-up.sh),
# else one is started and stopped here; POLARRUN_BIN=PATH uses that polarrun (release, static
# Swift runtime) instead of building it; CHANGE=FILE the .c file changed (path in the source);
# BRANCH (default POLARDB_15_STABLE, or main for the fixture); FLAVOUR release|test.
# Per-run lines go to stdout (and the build logs stay in the scratch directory when KEEP=1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
[ "$#" -ge 1 ] && [ "$#" -le 2 ] || { sed -n '2,22p' "$0" >&2; exit 2; }
source_arg=$1
runs=${2:-1}
[ "$(id -u)" -eq 0 ] || { echo "must run as root" >&2; exit 2; }

work=$(mktemp -d /tmp/polarrun-incr.XXXXXX)
chmod 755 "$work"
state=
cleanup() {
    [ -n "$state" ] && scripts/docker-down.sh "$state" >/dev/null 2>&1 || true
    [ "${KEEP:-0}" = 1 ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${POLARRUN_BIN:-}" ]; then
    bin=$POLARRUN_BIN
else
    echo "== building polarrun (release, static Swift runtime)" >&2
    swift build -c release --static-swift-stdlib --product polarrun >/dev/null
    bin=$root/.build/release/polarrun
fi
if [ -n "${DOCKER_ENV:-}" ]; then
    envfile=$DOCKER_ENV
else
    state=$work/docker
    echo "== starting dockerd in $state" >&2
    scripts/docker-up.sh "$state" >/dev/null
    envfile=$state/env
fi
set -a; . "$envfile"; set +a
export DOCKER_HOST POLARRUN_DOCKER

# the project: image.yml with one engine, the Dockerfiles, rootfs, the engine source clone
proj=$work/proj
mkdir -p "$proj/rootfs"
cp -a rootfs/. "$proj/rootfs/"
cp -r docker "$proj/docker"
cp -r scripts/fixtures "$proj/fixtures"
if [ "$source_arg" = fixture ]; then
    branch=${BRANCH:-main}
    scripts/make-engine-repo.sh "$proj/engine" "$branch" >/dev/null
    dockerfile=./fixtures/Dockerfile.engine.fixture
    change=${CHANGE:-src/tools/fx_03.c}
    what="fixture engine (scripts/make-engine-repo.sh, $dockerfile)"
else
    branch=${BRANCH:-POLARDB_15_STABLE}
    git clone -q --branch "$branch" --single-branch "$source_arg" "$proj/engine"
    dockerfile=./docker/Dockerfile.pg.engine.${FLAVOUR:-release}
    change=${CHANGE:-src/backend/utils/adt/varlena.c}
    what="PolarDB for PostgreSQL ($source_arg, $branch, $(git -C "$proj/engine" rev-parse --short HEAD), $dockerfile)"
fi
[ -f "$proj/engine/$change" ] || { echo "no $change in the source" >&2; exit 2; }
cat >"$proj/image.yml" <<EOF
images:
  - id: engine
    type: engine
    build_image_name: polarrun-bench/engine
    build_image_dockerfile: $dockerfile
    engine_repo: ./engine
    engine_branch: $branch
    engine_config_template: src/backend/utils/misc/postgresql.conf.sample
    push: false
EOF
g() { git -C "$proj/engine" -c user.name=bench -c user.email=bench@polarrun.invalid -c commit.gpgsign=false "$@"; }

results=$work/results
: >"$results"
n=0
build() {   # build NAME [INPUT...]: appends "NAME seconds compiler-cache" to $results and prints it
    n=$((n + 1))
    local log=$work/build-$n-$1.log t0 t1
    t0=$(date +%s.%N)
    if ! "$bin" build.lua "image_file=$proj/image.yml" "cache_dir=$work/cache" "rootfs=$proj/rootfs" \
            "polarrun_binary=$bin" "result=$work/result" "${@:2}" >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "build $1 failed; log: $log" >&2
        KEEP=1
        exit 1
    fi
    t1=$(date +%s.%N)
    local cc
    cc=$(grep -o 'compiler cache: .*' "$log" | tail -1 || true)
    printf '%-20s %8.1f s  %s\n' "$1" "$(echo "$t1 - $t0" | bc)" "${cc:-compiler cache: (step not run)}" | tee -a "$results"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "== $what, $runs run(s), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$runs"); do
    build clean no_cache=true
    build no-change
    build no-change-reuse-off reuse=false
    # a change no build has seen (the daemon's compiler cache outlives this script)
    printf '\nint polarrun_bench_change_%s = %d;\n' "$(date +%s%N)" "$r" >>"$proj/engine/$change"
    g commit -qam "bench: change $change ($r)"
    build one-file
done
echo "== medians (load $(cut -d' ' -f1-3 /proc/loadavg))"
clean=$(awk '$1 == "clean" {print $2}' "$results" | median)
for k in clean no-change no-change-reuse-off one-file; do
    m=$(awk -v k="$k" '$1 == k {print $2}' "$results" | median)
    printf '%-20s %8.1f s  %5.1f %% of clean\n' "$k" "$m" "$(echo "100 * $m / $clean" | bc -l)"
done
