#!/usr/bin/env bash
# Black-box checks against the real HTTP surface, `cargo lambda watch` on the local DynamoDB: the
# public scim2-tester suite (through scim2-cli), then the credential lifecycle walkthrough
# (scripts/acceptance.sh). Needs AWS_ENDPOINT_URL_DYNAMODB and TABLE_NAME (scripts/test.sh sets
# both). Fails if any check does not succeed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ensure_venv

cargo build --quiet --workspace --bins
scimctl() { "$ROOT/target/debug/scimctl" "$@"; }
scimctl table create >/dev/null
tenant=$(scimctl tenant create conformance --json | json_field tenantId)
token=$(scimctl token create "$tenant" --description conformance --json | json_field token)

port=$(free_port)
mkdir -p "$LOCAL"
write_lambda_env "$LOCAL/conformance.env"
# The suite sends one request at a time: one warm instance per function, so no instance is
# still starting (cargo run, under CI load) when a check's request arrives.
start_api "$port" "$LOCAL/conformance.env" "$LOGS/conformance-api.log" 1
trap stop_api EXIT
url="http://127.0.0.1:$port/$tenant/scim/v2"
wait_for_api "$url" "$token"

report="$LOCAL/conformance-report.txt"
# run_suite: runs scim2-tester once into $report; sets status, passed, failed.
run_suite() {
  set +e
  scim2 --url "$url" -h "Authorization: Bearer $token" test >"$report" 2>&1
  status=$?
  set -e
  passed=$(grep -c '^SUCCESS' "$report" || true)
  failed=$(grep -cE '^(ERROR|CRITICAL|FAILURE|WARNING)' "$report" || true)
}
run_suite
# Our functions only ever answer JSON. A `text/plain` answer comes from the `cargo lambda watch`
# emulator itself (a dropped invocation under CI load). A request with no answer within scim2-cli's
# fixed 5 s timeout is the same emulator stalling (seen once on CI, for `/Schemas/{id}`: a static
# answer computed in memory). When those are the only failures, the suite runs once more, and that run
# decides; a handler that really hangs fails both runs.
emulator_only=$(grep -E '^(ERROR|CRITICAL|FAILURE|WARNING)' -A1 "$report" | grep -vE '^(ERROR|CRITICAL|FAILURE|WARNING|--)' |
  grep -vcE 'Unexpected content type: text/plain|Network error happened during request' || true)
# The same goes for a discovery that failed on such an answer before any check ran.
discovery_failed=$(grep -cE 'Could not discover the server.*(Unexpected content type: text/plain|Network error happened during request)' "$report" || true)
if { [ "$failed" -ne 0 ] && [ "$emulator_only" -eq 0 ]; } || { [ "$passed" -eq 0 ] && [ "$discovery_failed" -ne 0 ]; }; then
  grep -E '^(ERROR|CRITICAL|FAILURE|WARNING)' -A1 "$report" || true
  echo "scim2-tester: $failed check(s) got no answer from the code under test; the emulator's log, then the suite again:"
  tail -n 40 "$API_LOG" || true
  cp "$report" "$report.first"
  run_suite
fi
grep -E '^(ERROR|CRITICAL|FAILURE|WARNING)' -A1 "$report" || true
# scim2-tester 0.5.2 (pinned in env.sh) runs 135 checks; all must succeed, none may be skipped.
expected=135
echo "scim2-tester: $passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -lt "$expected" ]; then
  echo "conformance failed (exit $status); full report: $report; the emulator's log ends:" >&2
  tail -n 40 "$API_LOG" >&2 || true
  exit 1
fi

"$ROOT/scripts/acceptance.sh" "http://127.0.0.1:$port"
