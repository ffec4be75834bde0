"""PyTorch's in-place weighted merge of three state dicts, the peer of our consuming
`Linear::merge_owned` (benches/merge.rs, `merge3-owned`).

The shared peer script (`../shared/peer/hf_gpt_bench.py`) times an allocating merge,
`sum(w * sd[k] ...)`, the peer of our borrowing `merge3`. Here the first copy accumulates in
place with PyTorch's fused `add_(x, alpha=w)`; fresh copies are made outside the timer.

    .venv-peer/bin/python scripts/peer_merge_inplace.py --shape qm9
"""

import argparse
import json
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel

SHAPES = {  # n_layer, n_embd, n_head, n_inner, vocab (as the shared peer script)
    "qm9": (3, 768, 12, 2048, 40),
    "small": (4, 256, 4, 1024, 40),
}

ap = argparse.ArgumentParser()
ap.add_argument("--shape", choices=sorted(SHAPES), default="qm9")
ap.add_argument("--reps", type=int, default=30)
args = ap.parse_args()
L, D, H, FF, V = SHAPES[args.shape]
torch.manual_seed(0)
cfg = GPT2Config(n_embd=D, n_head=H, n_inner=FF, n_layer=L, n_positions=1024, vocab_size=V)
sd = GPT2LMHeadModel(cfg).eval().state_dict()
w = [1 / 3] * 3

times = []
for _ in range(args.reps + 1):
    sds = [{k: v.clone() for k, v in sd.items()} for _ in range(3)]
    t = time.perf_counter()
    with torch.no_grad():
        for k in sds[0]:
            acc = sds[0][k]
            if not acc.is_floating_point():
                continue
            acc.mul_(w[0])
            for wi, other in zip(w[1:], sds[1:]):
                acc.add_(other[k], alpha=wi)
    times.append(time.perf_counter() - t)
times = sorted(times[1:])
print(json.dumps({"shape": args.shape, "threads": torch.get_num_threads(),
                  "merge3_inplace_ms_median": times[len(times) // 2] * 1e3}))
