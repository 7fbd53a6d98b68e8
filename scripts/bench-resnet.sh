#!/usr/bin/env bash
# ResNets on the CPU: reponet (its own kernels, and Burn's for comparison) beside PyTorch
# eager and torch.compile, same threads, same network (resnet_reponet.py), head, loss and
# SGD recipe, random 3 x 32 x 32 inputs; rounds interleaved so that a busy spell on a
# shared machine hits every contender alike. Medians go to BENCHMARKS.md (between its
# resnet markers), the raw JSON to results/bench-resnet/.
#
#   scripts/bench-resnet.sh [RUNS]        RUNS rounds (default 3); MODELS="resnet20 resnet18"
#   REPONET=path/to/reponet scripts/bench-resnet.sh
#
# Needs python3 with torch for the peer. Run it on an idle machine: it takes about 10
# minutes a round on 2 cores.
source "$(dirname "$0")/common.sh"
runs=${1:-3}
threads=${THREADS:-$(nproc)}
models=${MODELS:-resnet20 resnet18}
phases=${PHASES:-train:128,infer:128}
steps=${STEPS:-5}
out=results/bench-resnet
mkdir -p "$out"
grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' > "$out/machine.txt" || true
peer=benches/pytorch/margin_reponet.py
for i in $(seq 1 "$runs"); do
    for m in $models; do
        shape=(--model "$m" --image-size 32 --channels 3)
        echo "== round $i/$runs, $m: reponet"
        RAYON_NUM_THREADS=$threads "$reponet" bench "${shape[@]}" --phases "$phases" \
            --steps "$steps" --warmup 2 --out "$out/reponet-$m-$i.json"
        echo "== round $i/$runs, $m: reponet on Burn's convolutions"
        RAYON_NUM_THREADS=$threads "$reponet" bench "${shape[@]}" --conv burn --phases "$phases" \
            --steps "$steps" --warmup 2 --out "$out/burn-kernels-$m-$i.json"
        if python3 -c "import torch" 2>/dev/null; then
            echo "== round $i/$runs, $m: PyTorch eager"
            python3 "$peer" --bench "$phases" "${shape[@]}" --threads "$threads" --device cpu \
                --steps "$steps" --warmup 2 > "$out/peer-$m-$i.jsonl"
            echo "== round $i/$runs, $m: torch.compile"
            python3 "$peer" --bench "$phases" "${shape[@]}" --threads "$threads" --device cpu \
                --steps "$steps" --warmup 2 --compile > "$out/peer-compiled-$m-$i.jsonl" \
                || echo "torch.compile failed (needs a C compiler); its column stays empty"
        fi
    done
done
python3 scripts/bench-tables.py results/bench BENCHMARKS.md
echo "wrote BENCHMARKS.md"
