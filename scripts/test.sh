#!/usr/bin/env bash
# README command 2: the whole test suite. Uses AWS_ENDPOINT_URL_DYNAMODB when set (DynamoDB Local,
# moto, or a real table); otherwise starts a local moto DynamoDB for the run and stops it after.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ensure_venv

if [ -z "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]; then
  start_moto
  trap stop_moto EXIT
fi
export TABLE_NAME="${TABLE_NAME:-scim-test}"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cfn-lint template.yaml"
cfn-lint template.yaml
echo "==> the template's table is the local table"
cargo run --quiet --locked --bin scimctl -- table definition >"$LOCAL/table-definition.json"
python "$ROOT/scripts/check-template.py" template.yaml "$LOCAL/table-definition.json"
echo "==> cargo test (DynamoDB at $AWS_ENDPOINT_URL_DYNAMODB, table $TABLE_NAME)"
cargo test --all-targets --locked
echo "==> deploy artifacts: sam validate --lint, sam build (arm64 bootstraps), their sizes"
"$ROOT/scripts/sam-build.sh"
echo "==> request-count benchmark"
RUST_LOG=warn cargo run --quiet --locked --example cost_table
echo "==> list benchmark: 1,000 and 10,000 users walked by index and by cursor (its own table)"
TABLE_NAME="$TABLE_NAME-lists" RUST_LOG=warn cargo run --quiet --locked --example list_scale
echo "==> rejected-token timing benchmark"
RUST_LOG=warn cargo run --quiet --locked --example auth_timing
echo "==> per-tenant fairness benchmark: a tenant syncing while another floods (20 s)"
TABLE_NAME="$TABLE_NAME-fairness" RUST_LOG=warn cargo run --quiet --locked --example fairness
echo "==> the local stack as a developer runs it (scripts/dev.sh)"
"$ROOT/scripts/test-scripts.sh"
echo "==> scim2-tester conformance against cargo lambda watch"
TABLE_NAME="$TABLE_NAME-conformance" "$ROOT/scripts/conformance.sh"
