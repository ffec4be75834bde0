#!/usr/bin/env bash
# Build and run tests/downstream, a crate that depends on multireward by path the way a user's
# crate would (shipped policy through multireward::assets, a custom FnReward, a two-strategy
# comparison with a tiny budget), sharing this repository's target directory. The root lock file
# is copied in first, so both builds resolve the same versions and share compiled dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
cp Cargo.lock tests/downstream/Cargo.lock
cd tests/downstream && CARGO_TARGET_DIR=../../target cargo run --release
