#!/usr/bin/env bash
# Usage: bench/build.sh [RUNS] [IMAGE_YML TITLE]   (default 3; run as root from anywhere)
#
# IMAGE_YML (default Tests/Fixtures/build/image.yml) must use the fixture layout (engine/,
# fixtures/, docker/ next to it); with it, TITLE names the section, e.g.
#   bench/build.sh 3 examples/local/image.yml "engines on two branches"
#
# Image builds: polarrun's build.lua (first run: empty cache and no images; second run:
# nothing changed) against bench/baseline-image-py.sh (what the original image.py did:
# clone per image, sequential, no mirror; also run twice), on the same fixture
# image.yml (Tests/Fixtures/build/image.yml: two engines on one branch + a manager,
# all pushed) and the same private Docker daemon and loopback registry
# (scripts/docker-up.sh). Before each first run every image except the base image,
# the registry's storage and polarrun's cache are removed. Prints the medians and
# ratios and writes them to docs/bench.md, section "Image builds".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
runs=${1:-3}
image_yml=${2:-Tests/Fixtures/build/image.yml}
title=${3:-}
heading="## Image builds${title:+: $title}"
if [ -z "$title" ]; then
    fixture_desc="Tests/Fixtures/build/image.yml — two
engines on the same repository and branch"
else
    fixture_desc="$image_yml ($title)"
fi

echo "== building polarrun (release, static Swift runtime)"
swift build -c release --static-swift-stdlib --product polarrun >/dev/null
bin=$root/.build/release/polarrun

work=$(mktemp -d /tmp/polarrun-bench.XXXXXX)
state=$work/docker
cleanup() { scripts/docker-down.sh "$state" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
echo "== starting dockerd and the registry in $state"
scripts/docker-up.sh "$state" >/dev/null
set -a; . "$state/env"; set +a
export DOCKER_HOST POLARRUN_DOCKER
docker=$POLARRUN_DOCKER

# the fixture directory (as BuildTests makes it); the baseline's "project" is the same directory
fx=$work/fx
mkdir -p "$fx/rootfs"
scripts/make-engine-repo.sh "$fx/engine" >/dev/null
cp -r scripts/fixtures "$fx/fixtures"
cp -r docker "$fx/docker"
cp "$image_yml" "$fx/image.yml"
cp -a rootfs/. "$fx/rootfs/"
cp "$bin" "$fx/polarrun"
cp -r runbooks "$fx/runbooks"

cold() {   # no images but the base image, an empty registry, no polarrun cache
    "$docker" images --format '{{.Repository}}:{{.Tag}} {{.ID}}' | awk '$1 != "debian:bookworm" {print $2}' |
        sort -u | xargs -r "$docker" rmi -f >/dev/null 2>&1 || true
    "$docker" image prune -f >/dev/null
    scripts/registry-ctl.sh "$state" stop >/dev/null 2>&1
    rm -rf "$state/registry"
    scripts/registry-ctl.sh "$state" start >/dev/null 2>&1
    rm -rf "$work/cache"
}
timed() {  # timed LOG cmd... → prints seconds
    local t0 t1 log=$1
    shift
    t0=$(date +%s.%N)
    "$@" >"$log.log" 2>&1 || { echo "FAILED: $* (see $log.log)" >&2; tail -20 "$log.log" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
}
polarrun_build() { "$bin" build.lua "image_file=$fx/image.yml" "cache_dir=$work/cache" "registry=$POLARRUN_TEST_REGISTRY" \
                   "polarrun_binary=$fx/polarrun" "runbooks_dir=$fx/runbooks" "rootfs=$fx/rootfs" "result=$work/polarrun.result"; }
baseline_build() { bench/baseline-image-py.sh "$fx" "$fx/image.yml" "$POLARRUN_TEST_REGISTRY"; }
# polarrun runs its bundled runbooks from the repository; the baseline's context is $fx
p1=() p2=() b1=() b2=()
for ((i = 1; i <= runs; i++)); do
    cold; p1+=("$(timed "$work/p1-$i" polarrun_build)")
    p2+=("$(timed "$work/p2-$i" polarrun_build)")
    cold; b1+=("$(timed "$work/b1-$i" baseline_build)")
    b2+=("$(timed "$work/b2-$i" baseline_build)")
    echo "run $i: polarrun first ${p1[-1]}s second ${p2[-1]}s; baseline first ${b1[-1]}s second ${b2[-1]}s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m}'; }
mp1=$(median "${p1[@]}") mp2=$(median "${p2[@]}") mb1=$(median "${b1[@]}") mb2=$(median "${b2[@]}")
r1=$(echo "scale=2; $mb1 / $mp1" | bc) r2=$(echo "scale=2; $mb2 / $mp2" | bc)
cpus=$(nproc) when=$(date -u +%Y-%m-%d)
dockerv=$("$docker" version --format '{{.Server.Version}}')

if [ -z "$title" ]; then
    why=$(cat <<'TXT'
Where the time goes: on a first run both sides pay for the fixture's apt-get step once
(polarrun builds the second engine of the same branch from the first one's layers rather
than running the same steps twice at once) and polarrun shares one clone and uploads each
image while the next one builds (the manager starts when its engine is built, not pushed).
On a second run polarrun fetches into its mirror, finds each image's inputs (Dockerfile,
build args, engine commit, context files, base image) unchanged and re-tags the existing
image, then pushes the new tags (layers already in the registry); the baseline clones
again and runs every build through Docker's layer cache.
TXT
)
else
    why="Where the time goes: the two engines are on different branches, so polarrun clones each once
(from its mirror) and builds them at the same time, while the baseline clones per image and
builds one after the other; on a second run polarrun re-tags the unchanged images."
fi
section=$(cat <<MD
$heading

\`bench/build.sh $runs${title:+ $image_yml \"$title\"}\` ($when, $cpus CPUs, Docker $dockerv, private dockerd + loopback
docker-registry from scripts/docker-up.sh). Fixture: $fixture_desc (scripts/make-engine-repo.sh; the fixture
Dockerfile apt-installs Debian's PostgreSQL 15) and a manager FROM the release engine
(docker/Dockerfile.manager), all three pushed. "First" starts with no images but the base
image, an empty registry and no polarrun cache; "second" repeats it with nothing changed.
Baseline: bench/baseline-image-py.sh, what image.py did (a clone per image, one image after
the other, no mirror, the whole project directory as build context), also with Docker's
layer cache on its second run. Medians of $runs runs, seconds (wall clock):

| run | polarrun build.lua | baseline (image.py) | baseline / polarrun |
|---|---:|---:|---:|
| first | $mp1 | $mb1 | ${r1}x |
| second (nothing changed) | $mp2 | $mb2 | ${r2}x |

Every run: polarrun $(printf '%s/' "${p1[@]}")first, $(printf '%s/' "${p2[@]}")second; baseline $(printf '%s/' "${b1[@]}")first, $(printf '%s/' "${b2[@]}")second.

$why
MD
)
mkdir -p docs
[ -f docs/bench.md ] || printf '# Benchmarks\n\nRun by hand; each section is written by its script.\n' >docs/bench.md
python3 - "$section" "$heading" <<'PY'
import re, sys
path = "docs/bench.md"
text = open(path).read()
section = sys.argv[1].rstrip() + "\n"
pat = re.compile("^" + re.escape(sys.argv[2]) + r"\n.*?(?=^## |\Z)", re.S | re.M)
text = pat.sub(lambda m: section + "\n", text) if pat.search(text) else text.rstrip() + "\n\n" + section
open(path, "w").write(text)
PY
echo
echo "$section"
