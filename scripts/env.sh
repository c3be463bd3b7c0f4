# Shared by the project's scripts: a project-local Python venv with moto, and a moto server on
# loopback when no DynamoDB endpoint is configured. Source it; don't run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
LOCAL="${SCIM_LOCAL_DIR:-$ROOT/.local}"
# Logs of the local functions live outside the project: `cargo lambda watch` watches the project
# tree, and a log it writes inside it would be a change it logs again (a loop at RUST_LOG=trace).
LOGS="${SCIM_LOG_DIR:-${TMPDIR:-/tmp}/scim-serverless-$(id -u)}"

# Any credentials and region will do for a local endpoint; real AWS uses the caller's own.
export AWS_REGION="${AWS_REGION:-us-east-1}"

# Python tools, pinned to major versions, in a project-local venv: moto (local DynamoDB),
# cargo-lambda (prebuilt), ziglang (the linker cargo-lambda cross-compiles the arm64 functions
# with), cfn-lint (template checks), scim2-cli (conformance suite).
PY_TOOLS=('moto[server]>=5,<6' 'cargo-lambda>=1,<2' 'ziglang==0.14.1' 'cfn-lint>=1,<2' 'scim2-cli==0.6.0' 'scim2-tester==0.5.2')
# The SAM CLI has a venv of its own: it pins click==8.1.8 and scim2-cli needs click>=8.5 (in one
# venv pip settles on an old SAM CLI and an old cfn-lint).
SAM_VENV="$ROOT/.venv-sam"
SAM_TOOLS=('aws-sam-cli>=1.170,<2')

# install_tools VENV TOOLS...: creates VENV with TOOLS, again whenever the list changes.
install_tools() {
  local venv="$1"
  shift
  if [ ! -f "$venv/.tools-installed" ] || [ "$(cat "$venv/.tools-installed")" != "$*" ]; then
    echo "==> installing $* into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
    echo "$*" > "$venv/.tools-installed"
  fi
}

ensure_venv() {
  install_tools "$VENV" "${PY_TOOLS[@]}"
  export PATH="$VENV/bin:$PATH"
}

# ensure_sam: ensure_venv (cargo-lambda and zig, which `sam build` runs), and the SAM CLI as $SAM.
ensure_sam() {
  ensure_venv
  install_tools "$SAM_VENV" "${SAM_TOOLS[@]}"
  SAM="$SAM_VENV/bin/sam"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_moto [PORT [STATE_FILE]]: starts moto on loopback (replaying STATE_FILE, and recording
# writes to it, when given), exports AWS_ENDPOINT_URL_DYNAMODB, sets MOTO_PID.
start_moto() {
  ensure_venv
  local port="${1:-$(free_port)}"
  local state=()
  [ -n "${2:-}" ] && state=(--state "$2")
  mkdir -p "$LOCAL"
  "$VENV/bin/python" "$ROOT/scripts/moto_server.py" "$port" "${state[@]}" >"$LOCAL/moto-$port.log" 2>&1 &
  MOTO_PID=$!
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
  for _ in $(seq 1 600); do
    if curl -s -o /dev/null "$AWS_ENDPOINT_URL_DYNAMODB/moto-api/"; then
      echo "==> moto DynamoDB at $AWS_ENDPOINT_URL_DYNAMODB (pid $MOTO_PID)"
      return 0
    fi
    sleep 0.2
  done
  echo "moto did not start; see $LOCAL/moto-$port.log" >&2
  return 1
}

stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
}

# env_line NAME VALUE: one line of an env file, the value double-quoted (a RUST_LOG filter such as
# `info,scim_serverless=debug` is refused by cargo-lambda's parser unquoted).
env_line() {
  local value="${2//\\/\\\\}"
  printf '%s="%s"\n' "$1" "${value//\"/\\\"}"
}

# Writes the environment a local function process needs (for `cargo lambda watch --env-file`).
# RUST_LOG goes to the functions only; the watcher itself logs at info.
write_lambda_env() {
  {
    env_line TABLE_NAME "$TABLE_NAME"
    env_line AWS_ENDPOINT_URL_DYNAMODB "$AWS_ENDPOINT_URL_DYNAMODB"
    env_line AWS_REGION "$AWS_REGION"
    env_line AWS_ACCESS_KEY_ID "${AWS_ACCESS_KEY_ID:-local}"
    env_line AWS_SECRET_ACCESS_KEY "${AWS_SECRET_ACCESS_KEY:-local}"
    env_line RUST_LOG "${RUST_LOG:-info}"
    # The events function publishes to the local DynamoDB's neighbour: moto serves EventBridge too.
    env_line EVENT_BUS_NAME "${EVENT_BUS_NAME:-default}"
    env_line AWS_ENDPOINT_URL_EVENTBRIDGE "${AWS_ENDPOINT_URL_EVENTBRIDGE:-$AWS_ENDPOINT_URL_DYNAMODB}"
    # The local stack may use a loopback JWKS (a test IdP on this machine) for federated OAuth
    # credentials; a deployed function never does (src/federation/mod.rs).
    env_line ALLOW_LOOPBACK_JWKS 1
    # The fault layer (docs/reliability.md): SCIM_FAULT_RATE=0.4 scripts/dev.sh fails 40% of the
    # functions' DynamoDB requests before they reach it.
    local name
    for name in SCIM_FAULT_RATE SCIM_FAULT_LATENCY_MS SCIM_FAULT_SEED EVENT_SOURCE EVENTS_AUDIENCE \
      EVENT_RETENTION_DAYS AUTH_CACHE_SECONDS; do
      if [ -n "${!name:-}" ]; then env_line "$name" "${!name}"; fi
    done
  } >"$1"
}

# json_field FIELD: reads one field of a JSON object on stdin.
json_field() {
  python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# start_api PORT ENV_FILE LOG [CONCURRENCY]: `cargo lambda watch` serving every function under one
# base URL (up to CONCURRENCY instances of each, default 4), in its own process group (WATCH_PGID)
# so that stop_api ends it and every function it spawned.
start_api() {
  mkdir -p "$(dirname "$3")"
  API_LOG="$3"
  RUST_LOG=info setsid cargo lambda watch --package scim-functions --invoke-address 127.0.0.1 --invoke-port "$1" \
    --env-file "$2" --concurrency "${4:-4}" >"$3" 2>&1 &
  WATCH_PGID=$!
}

# Stops the watcher and every function it started. The watcher ignores SIGTERM, so it gets
# SIGINT (what Ctrl-C sends), then SIGKILL if it is still there after 5 s: the port is free after.
stop_api() {
  if [ -n "${WATCH_PGID:-}" ]; then
    kill -INT -- "-$WATCH_PGID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 -- "-$WATCH_PGID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$WATCH_PGID" 2>/dev/null || true
    wait "$WATCH_PGID" 2>/dev/null || true
    WATCH_PGID=
  fi
}

# wait_for_api URL TOKEN: until every function answers (the first start of each takes a while);
# fails at once, with the watcher's own words, if the watcher has died.
wait_for_api() {
  local path
  for path in ServiceProviderConfig "Users?count=0" "Groups?count=0"; do
    for _ in $(seq 1 600); do
      if [ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$1/$path")" = 200 ]; then
        continue 2
      fi
      if [ -n "${WATCH_PGID:-}" ] && ! kill -0 "$WATCH_PGID" 2>/dev/null; then
        echo "cargo lambda watch stopped; its output ($API_LOG):" >&2
        tail -n 20 "$API_LOG" >&2 || true
        return 1
      fi
      sleep 1
    done
    echo "the local API did not answer at $1/$path" >&2
    return 1
  done
}
