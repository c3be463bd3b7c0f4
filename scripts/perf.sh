#!/usr/bin/env bash
# Release binary sizes and start-to-first-response times (docs/performance.md). Not part of the
# test suite: it builds the release profile (LTO, one codegen unit), which takes several minutes.
# usage: scripts/perf.sh [RUNS]   (default 30 fresh processes per function)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ensure_venv
RUNS="${1:-30}"

cargo build --release --locked --bins
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
echo "| function | binary size | median | p90 | min | max | status |"
echo "|---|---|---|---|---|---|---|"
for pair in users:users-list-filter groups:groups-list-filter discovery:discovery-service-provider-config admin:admin-credentials-list; do
  fn=${pair%%:*}
  event="$LOCAL/perf/$fn.json"
  sed -e "s/{{TENANT}}/$tenant/g" -e "s/{{TOKEN}}/$token/g" "events/${pair#*:}.json" >"$event"
  size=$(stat -c %s "target/release/$fn")
  read -r median p90 min max status < <(python "$ROOT/scripts/measure_cold_start.py" "target/release/$fn" "$event" "$RUNS" "$LOCAL/perf/$fn.stderr")
  mib=$(python -c 'import sys; print(f"{int(sys.argv[1]) / 1048576:.1f}")' "$size")
  echo "| $fn | $mib MiB | $median ms | $p90 ms | $min ms | $max ms | $status |"
done
