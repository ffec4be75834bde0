#!/usr/bin/env bash
# Measures multireward (criterion benches) and PyTorch + HF transformers + TRL
# (../shared/peer/) on the same shapes, one after the other on this machine: sampling,
# training step, merge of three experts, one whole PPO iteration, and the SGEMM ceiling.
#
#   scripts/bench-vs-pytorch.sh                 # everything (≈ 45 min on 2 cores)
#   scripts/bench-vs-pytorch.sh sampling merge  # a subset: sampling train_step merge ppo sgemm
#   PEER_PY=/path/to/python scripts/bench-vs-pytorch.sh
#   ROUNDS=3 scripts/bench-vs-pytorch.sh train_step   # alternate ours and the peer 3 times
#                                                    # (the VM's speed drifts by ±25 % within minutes)
#
# Peer setup (once):
#   python3 -m venv .venv-peer && .venv-peer/bin/pip install torch transformers datasets accelerate
#   .venv-peer/bin/pip install --no-deps --target .trl112 trl==1.12.0
set -euo pipefail
cd "$(dirname "$0")/.."
PEER_PY=${PEER_PY:-.venv-peer/bin/python}
PEERS=${PEERS:-../shared/peer}
TRL_PATH=${TRL_PATH:-.trl112}
WHAT=${*:-sampling train_step merge ppo sgemm}
has() { [[ " $WHAT " == *" $1 "* ]]; }
echo "== machine"; lscpu | grep -E "Model name|^CPU\(s\)"
ours() { cargo bench --bench "$1" 2>&1 | grep -E "^$2[/-]|time:|thrpt:"; }
for round in $(seq "${ROUNDS:-1}"); do
    echo "== round $round"
    has sampling && ours sampling sampling
    has train_step && ours train_step train_step
    has merge && ours merge merge3
    has ppo && ours ppo_iteration ppo_iteration
    if has sampling || has train_step || has merge; then
        echo "== PyTorch + HF transformers (sampling, train step, merge)"
        for shape in qm9 small; do "$PEER_PY" "$PEERS/hf_gpt_bench.py" 64 --shape "$shape"; done
        # The foundation-model shapes at batch 8 (as our benches run them).
        for shape in gpt2-124m smollm2-135m; do "$PEER_PY" "$PEERS/hf_gpt_bench.py" 8 --shape "$shape"; done
    fi
    if has ppo; then
        echo "== TRL PPOTrainer, rollout 128 in 4 minibatches of 32, 4 epochs"
        for small in "" --small; do
            "$PEER_PY" "$PEERS/trl_ppo_bench.py" $small --per-device-bs 128 --iters 2 --trl-path "$TRL_PATH" 2>&1 | tail -1
        done
    fi
done
if has sgemm; then
    echo "== SGEMM 2048², PyTorch (the machine's practical matmul ceiling)"
    "$PEER_PY" "$PEERS/sgemm_bench.py" "$(nproc)"
fi
