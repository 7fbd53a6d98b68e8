#!/usr/bin/env bash
# reponet and the PyTorch peer side by side on this machine, several runs each, medians,
# written to BENCHMARKS.md (between its bench markers) with the raw JSON in results/bench/.
# reponet runs twice per round: on its own CPU convolutions (the default) and on Burn's
# (`--conv burn`), so the table shows what the kernels changed.
#
#   scripts/bench.sh [RUNS]          RUNS runs of each (default 3)
#   REPONET=path/to/reponet scripts/bench.sh
#   HEADS=1 scripts/bench.sh         also the many-class head benchmark (minutes)
#   TCH=path/to/reponet scripts/bench.sh   also reponet on LibTorch (`--device libtorch`),
#                                    with a binary built with --features tch (README.md)
#
# Needs python3 with torch and numpy for the peer (pip install torch numpy); without them
# only reponet's figures are written. Both use the same threads (THREADS, default: all
# cores), the same model, loss, batch sizes and random inputs. Run it on an idle machine.
source "$(dirname "$0")/common.sh"
runs=${1:-3}
threads=${THREADS:-$(nproc)}
peer=${PEER:-benches/pytorch/margin_reponet.py}
out=results/bench
mkdir -p "$out"
grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' > "$out/machine.txt" || true
phases=train:512,train:128,infer:512,infer:128
for i in $(seq 1 "$runs"); do
    echo "== run $i/$runs: reponet"
    RAYON_NUM_THREADS=$threads "$reponet" bench --phases $phases --out "$out/reponet-$i.json"
    echo "== run $i/$runs: reponet on Burn's convolutions"
    RAYON_NUM_THREADS=$threads "$reponet" bench --conv burn --phases $phases \
        --out "$out/burn-kernels-$i.json"
    if [ -n "${TCH:-}" ]; then
        echo "== run $i/$runs: reponet on LibTorch"
        "$TCH" --device libtorch bench --phases $phases --out "$out/libtorch-$i.json"
    fi
    if python3 -c "import torch, numpy" 2>/dev/null && [ -f "$peer" ]; then
        echo "== run $i/$runs: PyTorch peer"
        python3 "$peer" --bench $phases --threads "$threads" --device cpu --steps 7 --warmup 2 \
            > "$out/peer-$i.jsonl"
    fi
done
if [ "${HEADS:-0}" = 1 ]; then
    echo "== many-class heads"
    RAYON_NUM_THREADS=$threads "$reponet" bench --heads --steps 5 --warmup 1 --out "$out/heads.json"
fi
python3 scripts/bench-tables.py "$out" BENCHMARKS.md
echo "wrote BENCHMARKS.md"
