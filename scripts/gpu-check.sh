#!/usr/bin/env bash
# GPU checks on an NVIDIA machine that has no Rust toolchain and no network: our benches on
# Burn's Vulkan backend beside PyTorch-CUDA on the same card, and (optionally) the
# summariser's SFT.
#
# Why Vulkan and not the `cuda` feature: burn-cuda 0.22 pulls cubecl-llvm, whose build script
# downloads an LLVM bundle from GitHub; machines that reach only the package registries cannot
# build it. The `vulkan` feature builds offline.
#
# Build here first (x86-64 Linux; the Vulkan loader is loaded at run time):
#   CARGO_TARGET_DIR=target-gpu cargo build --release --features vulkan \
#       --example pretrain_summarizer --bench sampling --bench train_step --bench merge --bench ppo_iteration
#   scripts/gpu-check.sh --stage          # copies the binaries and peer scripts into .devbin/
# and the loader packages into .gl/ (../.library/device/README.md). Then on the GPU machine,
# from the repository root (with .devbin/, .gl/ and the corpus):
#   scripts/gpu-check.sh [--summariser MINUTES] [--out DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--stage" ]; then
    # Stripped and xz-compressed (the tree that travels to the device is capped at 64 MiB):
    # scripts/gpu-check.sh --stage [BINARY...] (default: all five).
    shift
    mkdir -p .devbin
    for b in ${@:-pretrain_summarizer sampling train_step merge ppo_iteration}; do
        if [ "$b" = pretrain_summarizer ]; then src=target-gpu/release/examples/$b
        else src=$(ls -t target-gpu/release/deps/$b-* | grep -v '\.d$' | head -1); fi
        strip -o ".devbin/$b" "$src" && xz -6 -T2 -f ".devbin/$b"
    done
    cp ../shared/peer/hf_gpt_bench.py ../shared/peer/trl_ppo_bench.py .devbin/
    ls -la .devbin
    exit 0
fi
SUMMARISER_MIN=0
OUTDIR=${OUT:-results/gpu}
while [ $# -gt 0 ]; do
    case "$1" in
        --summariser) SUMMARISER_MIN=$2; shift 2 ;;
        --out) OUTDIR=$2; shift 2 ;;
        *) echo "unknown argument $1"; exit 2 ;;
    esac
done
mkdir -p "$OUTDIR"
exec > >(tee "$OUTDIR/gpu-check.log") 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
if [ -d .gl ]; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
export MULTIREWARD_DEVICE=vulkan MULTIREWARD_BENCH_SECONDS=${MULTIREWARD_BENCH_SECONDS:-5}
T0=$(date +%s)
mkdir -p /tmp/bin
for f in .devbin/*.xz; do
    [ -e "$f" ] && python3 -c "import lzma,sys; open(sys.argv[2],'wb').write(lzma.open(sys.argv[1]).read())" "$f" "/tmp/bin/$(basename "$f" .xz)"
done
chmod +x /tmp/bin/* 2>/dev/null
if [ "$SUMMARISER_MIN" != 0 ]; then
    # Language-modelling phase (loss on description and synopsis), then the synopsis-only
    # fine-tune, each fitted to half of the budget; the shipped tokenizer is kept.
    half=$(python3 -c "print($SUMMARISER_MIN / 2)")
    timeout $(python3 -c "print(int($SUMMARISER_MIN * 60 + 150))") sh -c "
      /tmp/bin/pretrain_summarizer --tokenizer assets/summarizer-gpt/tokenizer.json --full-loss \
        --dropout 0.1 --steps ${LM_STEPS:-5000} --batch 64 --max-minutes $half --test-rows 50 --out /tmp/summariser-lm &&
      /tmp/bin/pretrain_summarizer --init /tmp/summariser-lm --dropout 0.1 --steps ${SFT_STEPS:-2500} --batch 64 \
        --lr 5e-4 --max-minutes $half --f16 --out $OUTDIR/summarizer-gpt"
    echo "summariser: $(( $(date +%s) - T0 )) s"
fi
for b in sampling train_step merge ppo_iteration; do
    [ -x "/tmp/bin/$b" ] || continue
    echo "== $b (vulkan)"
    timeout 150 "/tmp/bin/$b" --bench 2>&1 | grep -E "^[a-z_0-9]+/|time:|thrpt:|rror|panick"
done
echo "== PyTorch + HF on CUDA"
cat > /tmp/peer_cuda.py <<'PY'
import os, runpy, sys, time, torch
if os.environ.get("PEER_DEFAULT_CUDA"):
    torch.set_default_device("cuda")  # the HF bench creates everything on the default device
_clock = time.perf_counter
def synced():
    torch.cuda.synchronize()
    return _clock()
time.perf_counter = synced  # the peer's timers wait for the GPU
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
PY
for shape in qm9 small; do PEER_DEFAULT_CUDA=1 timeout 120 python3 /tmp/peer_cuda.py .devbin/hf_gpt_bench.py 64 --shape $shape; done
if ls .whl/trl-*.whl >/dev/null 2>&1; then
    echo "== TRL PPO on CUDA"
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
    sed 's/use_cpu=True,/use_cpu=False,/' .devbin/trl_ppo_bench.py > /tmp/trl_ppo_cuda.py
    for small in "" --small; do
        PYTHONPATH=/tmp/site timeout 100 python3 /tmp/peer_cuda.py /tmp/trl_ppo_cuda.py $small \
            --per-device-bs 128 --iters 2 --trl-path /tmp/site 2>&1 | tail -2
    done
fi
echo "total: $(( $(date +%s) - T0 )) s"
