#!/usr/bin/env bash
# README command 1: run the service locally. Starts a local DynamoDB (moto; or uses
# AWS_ENDPOINT_URL_DYNAMODB if set), creates the table, prints a demo tenant's SCIM URL and token,
# and serves every function with `cargo lambda watch` at http://127.0.0.1:$PORT (default 9000).
# Data is kept in .local/dynamodb-state.jsonl between runs; `scripts/dev.sh --reset` starts afresh.
# Ctrl-C stops everything it started.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ensure_venv

PORT="${PORT:-9000}"
STATE="$LOCAL/dynamodb-state.jsonl"
DEMO="$LOCAL/demo.env"
mkdir -p "$LOCAL"
if [ "${1:-}" = "--reset" ]; then
  echo "==> --reset: deleting the local data ($STATE) and the demo tenant"
  rm -f "$STATE" "$DEMO"
fi

cleanup() {
  stop_api
  stop_moto
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]; then
  start_moto "$(free_port)" "$STATE"
fi
export TABLE_NAME="${TABLE_NAME:-scim-local}"

echo "==> building (the first build takes a few minutes)"
cargo build --quiet --workspace --bins
scimctl() { "$ROOT/target/debug/scimctl" "$@"; }
scimctl table create

# Reuse the demo tenant and token while they still work; otherwise make new ones.
if [ -f "$DEMO" ]; then
  source "$DEMO"
  if ! scimctl token check "$SCIM_TENANT" "$SCIM_TOKEN" >/dev/null 2>&1; then
    echo "==> the saved demo token no longer works: creating a new demo tenant"
    rm -f "$DEMO"
  fi
fi
if [ ! -f "$DEMO" ]; then
  SCIM_TENANT=$(scimctl tenant create demo --json | json_field tenantId)
  SCIM_TOKEN=$(scimctl provisioning enable "$SCIM_TENANT" --description "local demo" --json | json_field token)
  printf 'SCIM_TENANT=%s\nSCIM_TOKEN=%s\n' "$SCIM_TENANT" "$SCIM_TOKEN" >"$DEMO"
fi

write_lambda_env "$LOCAL/dev.env"
start_api "$PORT" "$LOCAL/dev.env" "$LOGS/api.log"
SCIM_URL="http://127.0.0.1:$PORT/$SCIM_TENANT/scim/v2"
wait_for_api "$SCIM_URL" "$SCIM_TOKEN"

cat <<MSG

The SCIM service is running. Paste these into your IdP, or export them in a shell:

SCIM_URL=$SCIM_URL
SCIM_TOKEN=$SCIM_TOKEN

Try it:
  curl -s -H "Authorization: Bearer \$SCIM_TOKEN" -H 'Content-Type: application/scim+json' \\
    -d '{"userName":"ann@example.com","name":{"givenName":"Ann"}}' "\$SCIM_URL/Users"
  curl -s -H "Authorization: Bearer \$SCIM_TOKEN" "\$SCIM_URL/Users?filter=userName%20eq%20%22ann@example.com%22"

Administer it (tokens, rotation, audit, provisioning on/off) from another shell:
  export AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB TABLE_NAME=$TABLE_NAME AWS_REGION=${AWS_REGION:-us-east-1} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
  target/debug/scimctl provisioning status $SCIM_TENANT
  target/debug/scimctl audit $SCIM_TENANT

Or authenticate as an OAuth client (as Entra's gallery requires): create one, then exchange
its id and secret for an access token (an hour) at the tenant's token endpoint:
  target/debug/scimctl oauth client create $SCIM_TENANT --json
  curl -s -u "<clientId>:<clientSecret>" -d grant_type=client_credentials \\
    "http://127.0.0.1:$PORT/$SCIM_TENANT/oauth2/token"
  curl -s -H "Authorization: Bearer <access_token>" "\$SCIM_URL/Users"
With workload identity federation (RFC 7523), an IdP's signed assertion replaces the secret.
This stack allows a loopback JWKS (ALLOW_LOOPBACK_JWKS=1; a deployed one only takes https):
  target/debug/scimctl oauth client create $SCIM_TENANT --no-secret --json
  ALLOW_LOOPBACK_JWKS=1 target/debug/scimctl oauth federation add $SCIM_TENANT <clientId> \\
    --issuer <iss> --jwks-url http://127.0.0.1:<port>/keys --subject <sub> --audience <aud>
  curl -s -d grant_type=client_credentials -d client_id=<clientId> \\
    -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \\
    -d client_assertion=<signed JWT> "http://127.0.0.1:$PORT/$SCIM_TENANT/oauth2/token"

Watch the change events (RFC 9967 SETs) your writes produce, as your application would:
  target/debug/scimctl events $SCIM_TENANT --follow
Publish a sample stream batch through the events function (to moto's EventBridge):
  cargo lambda invoke events --invoke-address 127.0.0.1 --invoke-port $PORT --data-file events/events-stream-batch.json

Function logs: $LOGS/api.log   Data: $STATE   Stop: Ctrl-C (or SIGTERM)
MSG
wait "$WATCH_PGID"
