#!/usr/bin/env bash
# README command 2: the whole test suite. Starts a local moto DynamoDB unless
# AWS_ENDPOINT_URL_DYNAMODB already points at one (DynamoDB Local, moto, or a real table).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

if [ -z "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]; then
  start_moto
  trap stop_moto EXIT
fi
export TABLE_NAME="${TABLE_NAME:-scim-test}"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "==> cargo test (DynamoDB at $AWS_ENDPOINT_URL_DYNAMODB, table $TABLE_NAME)"
cargo test --all-targets --locked
echo "==> request-count benchmark"
cargo bench --locked --bench cost
