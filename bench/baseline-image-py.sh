#!/usr/bin/env bash
# Usage: bench/baseline-image-py.sh PROJECT_DIR IMAGE_YML REGISTRY
#
# The baseline for bench/build.sh: what the original image.py did, in bash, for the
# flat image.yml format of Tests/Fixtures/build/image.yml. One image after the other,
# in file order: for an engine, a fresh `git clone --branch B --depth 1` of its
# repository (no mirror, no sharing), `git submodule update --init`, the config template
# copied into rootfs/, `docker build` with image.py's build args and the whole project
# directory as context, `docker push` when push: true, the clone removed; for a manager,
# `docker build` FROM its engine (ENGINE_IMAGE_FULL_NAME) and push. Tags as image.py made
# them. Writes the image names to PROJECT_DIR/baseline.result.
#
# PROJECT_DIR plays the original repository: it holds the Dockerfiles (paths in the
# image.yml are relative to it), rootfs/, polarrun and runbooks/; the clone goes to src/
# (where the fixture Dockerfile expects it). Engine repositories relative to PROJECT_DIR.
set -euo pipefail
[ "$#" -eq 3 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
project=$1 yml=$2 registry=$3
docker=${POLARRUN_DOCKER:-/usr/bin/docker}
# image.py used the classic builder; the fixture engine Dockerfile compiles through a BuildKit
# cache mount (RUN --mount), which only BuildKit reads
export DOCKER_BUILDKIT=1
cd "$project"
today=$(date +%Y%m%d%H%M%S)
code_url=$(git -C "$project" remote get-url origin 2>/dev/null || echo "$project")
code_branch=$(git -C "$project" rev-parse --abbrev-ref HEAD 2>/dev/null || echo "")
code_commit=$(git -C "$project" rev-parse HEAD 2>/dev/null || echo unknown)
build_by=$(git config --global --get user.email 2>/dev/null || echo "${USER:-root}")

# image.yml → one line per image: id|type|name|dockerfile|repo|branch|template|engine_id|push|enable
parse() {
    awk '
      function flush() { if (id != "") print id "|" type "|" name "|" df "|" repo "|" br "|" tpl "|" eid "|" push "|" en }
      /^[ ]*- id:/ { flush(); id=$3; type=name=df=repo=br=tpl=eid=""; push="true"; en="true"; next }
      /^[ ]+type:/ { type=$2 } /^[ ]+build_image_name:/ { name=$2 } /^[ ]+build_image_dockerfile:/ { df=$2 }
      /^[ ]+engine_repo:/ { repo=$2 } /^[ ]+engine_branch:/ { br=$2 } /^[ ]+engine_config_template:/ { tpl=$2 }
      /^[ ]+engine_image_id:/ { eid=$2 } /^[ ]+push:/ { push=$2 } /^[ ]+enable:/ { en=$2 }
      END { flush() }' "$1"
}

declare -A built
: >"$project/baseline.result"
while IFS='|' read -r id type name df repo br tpl eid push en; do
    [ "$en" = true ] || continue
    name=$registry/$name
    if [ "$type" = engine ]; then
        rm -rf src
        git clone -q "$repo" --branch "$br" --depth 1 src
        git -C src submodule update --init -q
        cp "src/$tpl" "rootfs/$(basename "$tpl")"
        commit=$(git -C src rev-parse HEAD)
        version=$(grep -hw 'PACKAGE_VERSION=' src/configure | head -1 | cut -d= -f2 | tr -d "'")
        image=$name:$version.20210910.${commit:0:8}.$today
        "$docker" build --network=host -t "$image" \
            --build-arg "CodeSource=$code_url" --build-arg "CodeBranch=$code_branch" --build-arg "CodeVersion=$code_commit" \
            --build-arg "PolarSource=$repo" --build-arg "PolarBranch=$br" --build-arg "PolarVersion=$commit" \
            --build-arg "POLAR_SOURCE_DIR=/home/postgres/polardb_pg" --build-arg "BuildBy=$build_by" \
            -f "$df" .
        [ "$push" = true ] && "$docker" push "$image"
        rm -rf src
    else
        image=$name:$today.${code_commit:0:8}
        "$docker" build --network=host -t "$image" \
            --build-arg "CodeSource=$code_url" --build-arg "CodeBranch=$code_branch" --build-arg "CodeVersion=$code_commit" \
            --build-arg "BuildBy=$build_by" --build-arg "ENGINE_IMAGE_FULL_NAME=${built[$eid]}" \
            -f "$df" .
        [ "$push" = true ] && "$docker" push "$image"
    fi
    built[$id]=$image
    printf '%s\n' "$image" >>"$project/baseline.result"
done < <(parse "$yml")
