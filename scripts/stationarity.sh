#!/usr/bin/env bash
# Stationarity (issue 8): does a fixed classifier make the features stop moving? The fixed
# and the learnable simplex head (margin loss, the paper's recipe) trained side by side for
# several epochs on MNIST; every epoch records the class means of the unit test features,
# and `reponet report` draws how far they moved in each epoch (class-mean-drift.png), which
# docs/studies.md includes (scripts/studies.sh).
#
# Batch 128 rather than the paper's 512, so that the first 10,000 images give 78 steps an
# epoch and the runs get near convergence in 5 epochs (at 512 they are still at 90-95 %,
# where every feature still moves a lot).
#
#   scripts/stationarity.sh                     first 10,000 images, 5 epochs (~15 min)
#   LIMIT=60000 BATCH=512 EPOCHS=10 scripts/stationarity.sh
source "$(dirname "$0")/common.sh"
out=${OUT:-runs/stationarity}
runs=()
for polytope in ${POLYTOPES:-simplex}; do
    for head in fixed learnable; do
        run="$out/mnist-$polytope-$head"
        runs+=("$run")
        [ -f "$run/summary.json" ] && continue
        "$reponet" train --data-dir "${MNIST_DIR:-${REPONET_DATA:-$HOME/.cache/reponet}/mnist}" --polytope "$polytope" \
            --head "$head" --epochs "${EPOCHS:-5}" --batch-size "${BATCH:-128}" --limit-train "${LIMIT:-10000}" \
            --limit-test "${LIMIT_TEST:-2000}" --out "$run" --force
    done
done
"$reponet" report "${runs[@]}" --out "$out/report"
