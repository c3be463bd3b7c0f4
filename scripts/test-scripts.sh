#!/usr/bin/env bash
# Tests of the local stack as a developer uses it (`scripts/dev.sh`), run by scripts/test.sh
# against its DynamoDB (AWS_ENDPOINT_URL_DYNAMODB must be set):
#   1. a RUST_LOG with a comma reaches the functions and the stack comes up;
#   2. the function logs are written outside the project tree (the watcher watches it);
#   3. RUST_LOG=trace does not make the watcher log its own log writes (no feedback loop);
#   4. SIGTERM stops everything and frees the port, as Ctrl-C does;
#   5. when the watcher dies (its port is taken), dev.sh fails at once with the watcher's words;
#   6. the events function, invoked as dev.sh prints, publishes a sample stream batch (to moto's
#      EventBridge).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
: "${AWS_ENDPOINT_URL_DYNAMODB:?run through scripts/test.sh}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() {
  if eval "$2"; then
    echo "ok: $1"
    passed=$((passed + 1))
  else
    echo "FAILED: $1"
    failed=$((failed + 1))
  fi
}

# start_dev NAME RUST_LOG: dev.sh in the background on a free port; sets DEV_PID, DEV_PORT, DEV_OUT.
start_dev() {
  DEV_PORT=$(free_port)
  DEV_OUT="$work/$1.out"
  SCIM_LOCAL_DIR="$work/$1.local" SCIM_LOG_DIR="$work/$1.logs" PORT="$DEV_PORT" \
    TABLE_NAME="${TABLE_NAME}-dev" RUST_LOG="$2" scripts/dev.sh >"$DEV_OUT" 2>&1 &
  DEV_PID=$!
}

# wait_ready: until dev.sh prints its banner (or exits).
wait_ready() {
  for _ in $(seq 1 600); do
    grep -q "The SCIM service is running" "$DEV_OUT" && return 0
    kill -0 "$DEV_PID" 2>/dev/null || return 1
    sleep 1
  done
  return 1
}

# port_free PORT: a new listener can bind it, as the watcher would (SO_REUSEADDR, so connections
# left in TIME_WAIT by earlier requests do not count); waits up to 10 s for the kernel.
port_free() {
  for _ in $(seq 1 20); do
    python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()' "$1" 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}

# 1, 2, 4: a comma in RUST_LOG, logs outside the tree, SIGTERM.
start_dev comma "info,scim_serverless=debug"
check "a RUST_LOG with a comma: the stack comes up" wait_ready
url=$(grep -o 'SCIM_URL=[^ ]*' "$DEV_OUT" | head -1 | cut -d= -f2-)
token=$(grep -o 'SCIM_TOKEN=[^ ]*' "$DEV_OUT" | head -1 | cut -d= -f2-)
check "…and answers SCIM requests" \
  '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $token" "$url/Users?count=0")" = 200 ]'
check "the events function publishes the sample stream batch, as dev.sh says to try it" \
  '[ "$(cargo lambda invoke events --invoke-address 127.0.0.1 --invoke-port "$DEV_PORT" \
      --data-file events/events-stream-batch.json 2>/dev/null)" = "{\"batchItemFailures\":[]}" ]'
check "the function logs are outside the project tree" \
  '[ -s "$work/comma.logs/api.log" ] && ! find "$ROOT" -path "$ROOT/target" -prune -o -name api.log -newer "$DEV_OUT" -print | grep -q .'
kill -TERM "$DEV_PID"
stopped=1
for _ in $(seq 1 30); do
  kill -0 "$DEV_PID" 2>/dev/null || { stopped=0; break; }
  sleep 1
done
check "SIGTERM stops dev.sh" '[ "$stopped" = 0 ]'
check "…and frees its port" \
  'port_free "$DEV_PORT" || { ss -tanp 2>/dev/null | grep ":$DEV_PORT " || true; false; }'

# 3: RUST_LOG=trace, idle for 5 s: the log must not feed itself.
start_dev trace trace
check "RUST_LOG=trace: the stack comes up" wait_ready
before=$(stat -c %s "$work/trace.logs/api.log")
sleep 5
after=$(stat -c %s "$work/trace.logs/api.log")
check "RUST_LOG=trace: an idle stack's log does not grow by itself ($before -> $after bytes)" \
  '[ $((after - before)) -lt 100000 ]'
kill -TERM "$DEV_PID"
wait "$DEV_PID" 2>/dev/null || true

# 5: the watcher's port is taken: it dies, and dev.sh says why, at once.
DEV_PORT=$(free_port)
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(120)' \
  "$DEV_PORT" &
holder=$!
sleep 1
DEV_OUT="$work/taken.out"
started=$(date +%s)
set +e
SCIM_LOCAL_DIR="$work/taken.local" SCIM_LOG_DIR="$work/taken.logs" PORT="$DEV_PORT" \
  TABLE_NAME="${TABLE_NAME}-dev" timeout 300 scripts/dev.sh >"$DEV_OUT" 2>&1
status=$?
set -e
took=$(( $(date +%s) - started ))
kill "$holder" 2>/dev/null || true
check "a watcher that cannot start: dev.sh fails (exit $status) within 60 s (took ${took} s)" \
  '[ "$status" -ne 0 ] && [ "$status" -ne 124 ] && [ "$took" -lt 60 ]'
check "…quoting the watcher's own message" 'grep -q "cargo lambda watch stopped" "$DEV_OUT"'

echo "scripts: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
