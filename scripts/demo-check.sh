#!/usr/bin/env bash
# Usage: scripts/demo-check.sh DEMO_DIR
#
# Checks what `scripts/demo DEMO_DIR` built the way a newcomer would look at it, and fails
# (exit 1, saying what is wrong) when any of it is not so:
#   1. the result file names three images and image.result.json records a registry digest
#      for each (they were pushed);
#   2. `polarrun --list` runs inside the manager image;
#   3. a pod started from the demo's engine and manager images (engine container running
#      `polarrun supervise`, manager container in its PID namespace, shared /data and /log,
#      as PolarDB Stack runs them) answers PolarDB Stack: setup_install_instance, then the
#      health check, each sent as the Stack's exact command string (spec §2.2) with only
#      the variables the Stack sends.
# The demo runs it as its last step; CI runs the demo. Needs the demo's daemon running.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib/common.sh

[ "$#" -eq 1 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
demo=$(abs_path "$1")
[ -f "$demo/docker/env" ] || die "no Docker daemon state in $demo/docker (run scripts/demo $demo first)"
set -a; . "$demo/docker/env"; set +a
docker=/usr/bin/docker
fail() { printf 'demo-check: FAILED: %s\n' "$*" >&2; exit 1; }
ok() { printf 'demo-check: ok: %s\n' "$*"; }

# 1. three images, each pushed with a digest
result=$demo/example/image.result
[ -f "$result" ] || fail "no result file $result"
n=$(grep -c . "$result" || true)
[ "$n" -eq 3 ] || fail "$result names $n images, expected 3: $(tr '\n' ' ' <"$result")"
python3 - "$result.json" <<'EOF' || fail "image.result.json does not record three pushed images with digests"
import json, sys
doc = json.load(open(sys.argv[1]))
imgs = doc["images"]
assert len(imgs) == 3, imgs
for i in imgs:
    assert i["status"] in ("built", "reused"), i
    assert i.get("pushed") is True and str(i.get("digest", "")).startswith("sha256:"), i
EOF
ok "3 images in $result, each pushed with a digest in image.result.json"

engine=$(grep polardb_pg_engine_release "$result" | head -n 1)
manager=$(grep polardb_pg_manager "$result" | head -n 1)

# 2. polarrun inside the manager image
list=$("$docker" run --rm --network=host "$manager" polarrun --list) || fail "polarrun --list failed in $manager"
grep -q '^lock_disk_full' <<<"$list" && grep -q '^stack' <<<"$list" || fail "polarrun --list in $manager lacks the bundled runbooks:
$list"
ok "polarrun --list in $manager shows $(grep -c . <<<"$list") runbooks"

# 3. a pod from these images answers PolarDB Stack
pod=$demo/pod
name=polarrun-demo-$$
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
logic_ins_id=4242
cleanup() { "$docker" rm -f "$name-manager" "$name-engine" >/dev/null 2>&1 || true; }
trap cleanup EXIT
rm -rf "$pod"; mkdir -p "$pod/data" "$pod/log"
common=(--network=host -e logic_ins_id=$logic_ins_id -v "$pod/data:/data" -v "$pod/log:/log")
"$docker" run -d --name "$name-engine" "${common[@]}" "$engine" polarrun supervise >/dev/null
"$docker" run -d --name "$name-manager" --pid="container:$name-engine" "${common[@]}" "$manager" >/dev/null

# ENVSTRING as Stack-Common builds it (§2.2): key='value' pairs in random order, mycnf_dict
# as "..." with " escaped, then two spaces and python.
envstring() {
    local pair out=""
    while IFS= read -r pair; do
        local k=${pair%%=*} v=${pair#*=}
        if [ "$k" = mycnf_dict ] || [ "$k" = params ]; then
            [ "$k" = params ] && v=${v//\\/\\\\}
            out+="$k=\"${v//\"/\\\"}\" "
        else
            out+="$k='$v' "
        fi
    done < <(printf '%s\n' "$@" | shuf)
    printf '%s' "$out"
}
stack() {
    "$docker" exec "$name-manager" bash -c "$(envstring "$@") python /docker_script/entry_point.py"
}

ins_id=40001
pod_name=polar-demo-$logic_ins_id-$ins_id
host_ip="{\"link\":[$port],\"access_port\":[$port],\"perf_port\":[$port]}"
custins="{\"polardb_mpd_rw\":{\"pc-demo\":{\"accounts\":{},\"hostins\":{\"$ins_id\":{\"role\":\"master\",\"port\":$port,\"ins_ip\":\"127.0.0.1\"}},\"ins_type\":0}}}"
# InstallEngine: srv_opr_type/action, every key of the pod's ConfigMap, create_tablespace_env
stack srv_opr_type=hostins_ops srv_opr_action=setup_install_instance \
      "cluster_custins_info=$custins" cust_ins_id=pc-demo 'mycnf_dict={"shared_buffers":"32MB"}' \
      storage_type=local "port={\"$ins_id\":{\"link\":[$port],\"access_port\":[$port],\"perf_port\":[$port]}}" \
      logic_ins_id=$logic_ins_id ins_id=$ins_id pod_name=$pod_name slot_unique_name=${pod_name##*-} \
      service_type=polardb_mpd_rw 'create_tablespace_env={}' >"$pod/install.out" 2>&1 \
    || fail "setup_install_instance failed:
$(cat "$pod/install.out")"
ok "setup_install_instance answered (exit 0)"

# CheckHealth: srv_opr_type/action and srv_opr_host_ip; the supervisor starts postgres once installed
for _ in $(seq 60); do
    if stack srv_opr_type=health_check srv_opr_action=hostins_check "srv_opr_host_ip=$host_ip" >"$pod/health.out" 2>&1; then
        ok "health_check/hostins_check answered (exit 0) on port $port"
        exit 0
    fi
    sleep 1
done
fail "health_check/hostins_check did not succeed within 60 s:
$(cat "$pod/health.out")
engine container:
$("$docker" logs --tail 20 "$name-engine" 2>&1)"
