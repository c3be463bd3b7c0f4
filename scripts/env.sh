# Shared by the project's scripts: a project-local Python venv with moto, and a moto server on
# loopback when no DynamoDB endpoint is configured. Source it; don't run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
LOCAL="$ROOT/.local"

# Any credentials and region will do for a local endpoint; real AWS uses the caller's own.
export AWS_REGION="${AWS_REGION:-us-east-1}"

ensure_venv() {
  if [ ! -x "$VENV/bin/moto_server" ]; then
    echo "==> installing moto into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5'
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_moto [PORT]: starts moto on loopback, exports AWS_ENDPOINT_URL_DYNAMODB, sets MOTO_PID.
start_moto() {
  ensure_venv
  local port="${1:-$(free_port)}"
  mkdir -p "$LOCAL"
  "$VENV/bin/python" "$ROOT/scripts/moto_server.py" "$port" >"$LOCAL/moto-$port.log" 2>&1 &
  MOTO_PID=$!
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
  for _ in $(seq 1 100); do
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
