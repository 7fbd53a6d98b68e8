#!/usr/bin/env bash
# reponet on a GPU (the `wgpu` build, `--device wgpu`) side by side with the PyTorch peer on
# the same GPU (`--device cuda`, eager), then both on that machine's CPU. Raw results go to
# OUT (default results/bench-gpu); `python3 scripts/bench-tables.py results/bench BENCHMARKS.md`
# turns them into BENCHMARKS.md's GPU table.
#
#   REPONET=path/to/wgpu/reponet DATA=path/to/mnist scripts/bench-gpu.sh [OUT]
#   CUDA_REPONET=path/to/cuda/reponet ...    also Burn's CUDA backend (`--features cuda`)
#
# Needs: a reponet built with `--features wgpu`, the Vulkan loader (Debian/Ubuntu:
# libvulkan1) and the GPU's Vulkan driver; python3 with torch (CUDA) and numpy for the peer
# (PEER, default benches/pytorch/margin_reponet.py); MNIST's four IDX files in DATA for
# the epoch timings. PEER=none skips the peer, CPU=0 the CPU part. Each step has its own
# time limit (seconds, scaled by LIMIT percent, default 100), so one that hangs leaves the
# others' results.
set -u
cd "$(dirname "$0")/.."
out=${1:-results/bench-gpu}
reponet=${REPONET:-target/release/reponet}
peer=${PEER:-benches/pytorch/margin_reponet.py}
data=${DATA:-${REPONET_DATA:-$HOME/.cache/reponet}/mnist}
limit=${LIMIT:-100}
phases=train:512,train:128,infer:512,infer:128
steps="--steps 10 --warmup 3"
mkdir -p "$out"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

step() { # NAME SECONDS COMMAND...: run with a time limit, log to OUT/NAME.log, say how it ended
    local name=$1 seconds=$(($2 * limit / 100))
    shift 2
    local start=$SECONDS
    timeout "$seconds" "$@" >"$out/$name.out" 2>"$out/$name.log"
    echo "== $name: exit $? after $((SECONDS - start)) s"
    tail -n 8 "$out/$name.log"
}

python3 - "$out/machine.json" <<'EOF'
import json, subprocess, sys
def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
    except Exception as e:
        return f"unavailable ({e})"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
try:
    import torch
    torch_version, cuda = torch.__version__, torch.version.cuda
except Exception:
    torch_version = cuda = None
info = {"gpu": sh("nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"),
        "cpu": cpu, "cores": len(__import__("os").sched_getaffinity(0)),
        "torch": torch_version, "cuda": cuda}
json.dump(info, open(sys.argv[1], "w"), indent=1)
print(info)
EOF

# GPU: model phases, then one full-MNIST epoch (load, train, evaluate) each.
step reponet-wgpu 180 "$reponet" --device wgpu bench --phases $phases $steps \
    --out "$out/reponet-wgpu.json"
if [ -f "$peer" ]; then
    step peer-cuda 90 python3 "$peer" --bench $phases $steps --device cuda
    mv "$out/peer-cuda.out" "$out/peer-cuda.jsonl"
fi
step reponet-wgpu-epoch 150 "$reponet" --device wgpu bench --phases train:512 --steps 1 --warmup 0 \
    --epoch --data-dir "$data" --out "$out/reponet-wgpu-epoch.json"
# Two epochs: the first includes cuDNN's start-up, the second is the steady state. The
# margin ramps up over the first epoch, as reponet's default for the simplex does.
if [ -f "$peer" ]; then
    step peer-cuda-epoch 90 python3 "$peer" --data "$data" --epochs 2 --polys simplex \
        --learnable 0 --margin-warmup 1 --device cuda
    mv "$out/peer-cuda-epoch.out" "$out/peer-cuda-epoch.jsonl"
fi

# The ResNets on the GPU (Burn's own kernels there; reponet's are for the CPU): resnet20
# and resnet18 on 3 x 32 x 32, SGD recipe, beside the peer's same networks on CUDA.
for model in resnet20 resnet18; do
    shape=(--model "$model" --image-size 32 --channels 3)
    step "reponet-wgpu-$model" 240 "$reponet" --device wgpu bench "${shape[@]}" \
        --phases train:128,infer:128 $steps --out "$out/reponet-wgpu-$model.json"
    if [ -f "$peer" ]; then
        step "peer-cuda-$model" 120 python3 "$peer" --bench train:128,infer:128 "${shape[@]}" \
            $steps --device cuda
        mv "$out/peer-cuda-$model.out" "$out/peer-cuda-$model.jsonl"
    fi
done

# Burn's CUDA backend (issue 18), if a `--features cuda` build is given: NVRTC compiles its
# kernels at run time and needs the CUDA headers; PyTorch's CUDA wheels carry them.
cuda=${CUDA_REPONET:-}
if [ -n "$cuda" ]; then
    if [ -z "${CUDA_PATH:-}" ]; then
        CUDA_PATH=$(python3 -c '
import glob, os, site
for root in site.getsitepackages():
    for inc in sorted(glob.glob(os.path.join(root, "nvidia", "*", "include"))):
        if os.path.exists(os.path.join(inc, "cuda_fp16.h")):
            print(os.path.dirname(inc)); raise SystemExit
')
        export CUDA_PATH
    fi
    echo "CUDA_PATH=${CUDA_PATH:-none found} (NVRTC reads its headers from \$CUDA_PATH/include)" \
        | tee "$out/cuda-path.txt"
    # Twice: the first run tunes every kernel (CubeCL's autotune, then cached on disk); the
    # second shows the steady state and what the persistent cache saves at start-up.
    step reponet-cuda-cold 300 "$cuda" --device cuda bench --phases $phases $steps \
        --out "$out/reponet-cuda-cold.json"
    step reponet-cuda 180 "$cuda" --device cuda bench --phases $phases $steps \
        --out "$out/reponet-cuda.json"
    step reponet-cuda-epoch 150 "$cuda" --device cuda bench --phases train:512 --steps 1 \
        --warmup 0 --epoch --data-dir "$data" --out "$out/reponet-cuda-epoch.json"
    # A run trained on CUDA evaluates on the CPU with the same accuracy (within 0.05 points).
    step cuda-train 120 "$cuda" --device cuda train --data-dir "$data" --epochs 1 \
        --limit-test 2000 --force --out "$out/cuda-run"
    step cuda-eval-cuda 60 "$cuda" --device cuda --json eval "$out/cuda-run"
    mv "$out/cuda-eval-cuda.out" "$out/cuda-eval-cuda.json"
    step cuda-eval-cpu 60 "$cuda" --json eval "$out/cuda-run"
    mv "$out/cuda-eval-cpu.out" "$out/cuda-eval-cpu.json"
    rm -f "$out/cuda-run/model.bpk" "$out/cuda-run/checkpoint.bin"
fi

# The same machine's CPU, every core: how both scale past the 2 cores of BENCHMARKS.md.
[ "${CPU:-1}" = 0 ] && exit 0
threads=$(nproc)
step reponet-cpu 60 env RAYON_NUM_THREADS="$threads" "$reponet" bench --phases $phases $steps \
    --out "$out/reponet-cpu.json"
if [ -f "$peer" ]; then
    step peer-cpu 60 python3 "$peer" --bench $phases $steps --device cpu --threads "$threads"
    mv "$out/peer-cpu.out" "$out/peer-cpu.jsonl"
fi
