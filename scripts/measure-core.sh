#!/usr/bin/env bash
# The core issue's measurements: the margin warm-up study on a subset, then full-MNIST
# 3-epoch runs (fixed heads, then learnable heads). Each run lands in $OUT/NAME; finished
# runs (with eval.json) are skipped, so the script can be rerun after an interruption; the
# default OUT is the repository's results/core, whose finished runs are therefore kept.
#
# usage: scripts/measure-core.sh [DATA_DIR] [OUT] [BIN]
set -euo pipefail
DATA=${1:-data/mnist}
OUT=${2:-results/core}
BIN=${3:-target/release/reponet}
mkdir -p "$OUT"

run() {
  local name=$1; shift
  if [ -f "$OUT/$name/eval.json" ]; then echo "== $name: done already"; return; fi
  echo "== $name: $*"
  "$BIN" train --data-dir "$DATA" --out "$OUT/$name" --force "$@" > "$OUT/$name.log" 2>&1 \
    || echo "== $name failed: see $OUT/$name.log"
  tail -n 2 "$OUT/$name.log"
  "$BIN" eval "$OUT/$name" > "$OUT/$name.eval.txt" 2>&1 && head -n 2 "$OUT/$name.eval.txt"
}

# Warm-up study: 10,000 training images, 2 epochs, with and without a 1-epoch ramp.
for p in simplex orthoplex cube; do
  for w in 0 1; do
    run "warmup-$p-w$w" --polytope "$p" --margin-warmup "$w" --limit-train 10000 --limit-test 2000 --epochs 2
  done
done
# Full MNIST, the paper's recipe, 3 epochs, default warm-up (auto).
for head in fixed learnable; do
  for p in simplex orthoplex cube; do
    run "full-$p-$head" --polytope "$p" --head "$head" --epochs 3
  done
done
run full-simplex-fixed-no-warmup --polytope simplex --margin-warmup 0 --epochs 3
