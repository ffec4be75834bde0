#!/usr/bin/env bash
# Build and run tests/downstream, a crate that depends on multireward by path the way a user's
# crate would (shipped policy through multireward::assets, a custom FnReward, a two-strategy
# comparison with a tiny budget), sharing this repository's target directory.
set -euo pipefail
cd "$(dirname "$0")/.."
cd tests/downstream && CARGO_TARGET_DIR=../../target cargo run --release
