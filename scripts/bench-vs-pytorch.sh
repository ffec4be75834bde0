#!/usr/bin/env bash
# Measures multireward (criterion benches) and PyTorch + HF transformers
# (../shared/peer/hf_gpt_bench.py) on the same shapes, one after the other on this machine.
#
#   scripts/bench-vs-pytorch.sh            # flex vs PyTorch CPU
#   PEER_PY=/path/to/python scripts/bench-vs-pytorch.sh
#
# Peer setup (once): python3 -m venv .venv-peer && .venv-peer/bin/pip install torch transformers
set -euo pipefail
cd "$(dirname "$0")/.."
PEER_PY=${PEER_PY:-.venv-peer/bin/python}
PEER=${PEER:-../shared/peer/hf_gpt_bench.py}
echo "== machine"; lscpu | grep -E "Model name|^CPU\(s\)"
echo "== multireward (criterion; thrpt = tokens/s)"
cargo bench --bench sampling 2>&1 | grep -E "^sampling/|thrpt:"
cargo bench --bench train_step 2>&1 | grep -E "^train_step/|thrpt:"
echo "== PyTorch + HF transformers"
for shape in qm9 small; do "$PEER_PY" "$PEER" 64 --shape "$shape"; done
