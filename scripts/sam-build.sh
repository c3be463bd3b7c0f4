#!/usr/bin/env bash
# The deploy artifacts: `sam validate --lint`, then `sam build` (the arm64 bootstraps of
# template.yaml, cross-compiled by cargo-lambda with zig), then a table of their sizes.
# Run by scripts/test.sh; deploy what it builds with
# `sam deploy --template-file target/sam/build/template.yaml --config-file "$PWD/samconfig.toml"`.
# Output under target/sam: build/ (what `sam deploy` uploads) and cargo/ (the arm64 release
# target dir, apart from the debug one so neither invalidates the other).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ensure_sam
# No telemetry (and no wait on a network that is not there).
export SAM_CLI_TELEMETRY=0
SAM_OUT="$ROOT/target/sam"
SAM_BUILD="$SAM_OUT/build"
export CARGO_TARGET_DIR="$SAM_OUT/cargo"

if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  echo "==> rustup target add aarch64-unknown-linux-gnu"
  rustup target add aarch64-unknown-linux-gnu
fi

echo "==> sam validate --lint"
"$SAM" validate --lint --template-file template.yaml

# `sam build` runs `cargo lambda build --release --arm64 --bin NAME` in functions/ (`CodeUri`),
# once per function. Built together first, the functions share one compile of the dependencies
# and the library, and their LTO links (one thread each) run side by side; the per-function
# builds then find them done.
binaries=$(python3 - <<'EOF'
from cfnlint.decode import decode
template, _ = decode("template.yaml")
print(" ".join(
    r["Metadata"]["BuildProperties"]["Binary"]
    for r in template["Resources"].values()
    if r["Type"] == "AWS::Serverless::Function"
))
EOF
)
bin_args=()
for bin in $binaries; do bin_args+=(--bin "$bin"); done
echo "==> cargo lambda build --release --arm64 ${bin_args[*]} (target dir $CARGO_TARGET_DIR)"
started=$SECONDS
cargo lambda build --release --arm64 --locked --package scim-functions "${bin_args[@]}"
echo "==> sam build (build dir $SAM_BUILD)"
"$SAM" build --beta-features --template-file template.yaml --build-dir "$SAM_BUILD"
echo "==> arm64 release build and sam build: $((SECONDS - started)) s"

echo
# One row per function directory of the build; fails unless each bootstrap is an aarch64 ELF
# without the fault layer.
python3 - "$SAM_BUILD" <<'EOF'
import gzip, pathlib, sys
print("| function | bootstrap (arm64) | bytes | gzip -9 (≈ Lambda zip) |")
print("|---|---|---:|---:|")
for bootstrap in sorted(pathlib.Path(sys.argv[1]).glob("*/bootstrap")):
    data = bootstrap.read_bytes()
    if data[:4] != b"\x7fELF" or int.from_bytes(data[18:20], "little") != 183:  # EM_AARCH64
        sys.exit(f"{bootstrap} is not an arm64 executable")
    # Release builds leave the fault layer out (store/mod.rs): no deployed function reads it.
    if b"SCIM_FAULT_RATE" in data:
        sys.exit(f"{bootstrap} contains the fault layer (SCIM_FAULT_RATE): a release build must not")
    size, gz = len(data), len(gzip.compress(data, compresslevel=9))
    print(f"| {bootstrap.parent.name} | {size / 1048576:.1f} MiB | {size:,} | {gz / 1048576:.1f} MiB ({gz:,}) |")
EOF
