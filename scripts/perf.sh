#!/usr/bin/env bash
# Release binary sizes and start-to-first-response times (docs/performance.md), each function's
# median also as a multiple of a hello-world `lambda_http` function's (examples/hello_world.rs,
# same profile, same harness, same run). Not part of the test suite: it builds the release
# profile (LTO, one codegen unit), which takes several minutes.
# usage: scripts/perf.sh [RUNS]   (default 30 fresh processes per function)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ensure_venv
RUNS="${1:-30}"

cargo build --release --locked --workspace --bins --example hello_world
if [ -z "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]; then
  start_moto
  trap stop_moto EXIT
fi
export TABLE_NAME="${TABLE_NAME:-scim-perf}"
scimctl() { "$ROOT/target/release/scimctl" "$@"; }
scimctl table create >/dev/null
tenant=$(scimctl tenant create perf --json | json_field tenantId)
token=$(scimctl token create "$tenant" --json | json_field token)

mkdir -p "$LOCAL/perf"
# The functions start as on Lambda, which sets neither: with them, the HTTPS client reads the
# system's roots (store/https.rs), as it does on machines that set both for their own tools.
unset SSL_CERT_FILE SSL_CERT_DIR
# ratio A B: A / B, as "1.23×".
ratio() {
  python -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.2f}×")' "$1" "$2"
}
# measure NAME BINARY EVENT: one table row; sets MEDIAN and INIT (medians of first response and
# of first poll, the end of the init phase). The ratios are to HELLO_MEDIAN and HELLO_INIT.
measure() {
  local size mib p90 min max status
  size=$(stat -c %s "$2")
  read -r MEDIAN p90 min max INIT status < <(python "$ROOT/scripts/measure_cold_start.py" "$2" "$3" "$RUNS" "$LOCAL/perf/$1.stderr")
  mib=$(python -c 'import sys; print(f"{int(sys.argv[1]) / 1048576:.1f}")' "$size")
  echo "| $1 | $mib MiB | $MEDIAN ms | $p90 ms | $min ms | $max ms | $(ratio "$MEDIAN" "${HELLO_MEDIAN:-$MEDIAN}") | $INIT ms | $(ratio "$INIT" "${HELLO_INIT:-$INIT}") | $status |"
}
event_for() {
  sed -e "s/{{TENANT}}/$tenant/g" -e "s/{{TOKEN}}/$token/g" "events/$2.json" >"$LOCAL/perf/$1.json"
  echo "$LOCAL/perf/$1.json"
}

echo "| function | binary size | median | p90 | min | max | median ÷ hello-world's | init (median) | init ÷ hello-world's | status |"
echo "|---|---|---|---|---|---|---|---|---|---|"
measure hello-world target/release/examples/hello_world "$(event_for hello-world discovery-service-provider-config)"
HELLO_MEDIAN=$MEDIAN
HELLO_INIT=$INIT
for pair in users:users-list-filter groups:groups-list-filter discovery:discovery-service-provider-config admin:admin-credentials-list; do
  fn=${pair%%:*}
  measure "$fn" "target/release/$fn" "$(event_for "$fn" "${pair#*:}")"
done
# The events function publishes a sample stream batch to moto's EventBridge.
EVENT_BUS_NAME=default AWS_ENDPOINT_URL_EVENTBRIDGE="$AWS_ENDPOINT_URL_DYNAMODB" \
  measure events target/release/events "$(event_for events events-stream-batch)"
