#!/usr/bin/env bash
# Stationarity (issue 8): does a fixed classifier make the features stop moving? The fixed
# and the learnable simplex head (margin loss, the paper's recipe) trained side by side for
# several epochs on MNIST; every epoch records the class means of the unit test features,
# and `reponet report` draws how far they moved in each epoch (class-mean-drift.png), which
# RESULTS.md includes.
#
#   scripts/stationarity.sh                     first 10,000 images, 5 epochs (~15 min)
#   LIMIT=60000 EPOCHS=10 scripts/stationarity.sh
source "$(dirname "$0")/common.sh"
out=${OUT:-runs/stationarity}
runs=()
for polytope in ${POLYTOPES:-simplex}; do
    for head in fixed learnable; do
        run="$out/mnist-$polytope-$head"
        runs+=("$run")
        [ -f "$run/summary.json" ] && continue
        "$reponet" train --data-dir "${MNIST_DIR:-../shared/data/mnist}" --polytope "$polytope" \
            --head "$head" --epochs "${EPOCHS:-5}" --limit-train "${LIMIT:-10000}" \
            --limit-test "${LIMIT_TEST:-2000}" --out "$run" --force
    done
done
"$reponet" report "${runs[@]}" --out "$out/report"
