#!/usr/bin/env bash
# The unseen-class grid (issue 8): for MNIST and Fashion-MNIST, each of the paper's three
# polytopes with a fixed and a learnable head, three seeds; each seed holds out 3 of the 10
# classes (drawn from the seed), trains on the other 7 and measures retrieval and
# verification among the held-out classes' test images only. Then `reponet report` writes
# the per-run tables and the mean over seeds (runs/unseen/report/report.md), which
# docs/studies.md includes (scripts/studies.sh). Finished runs are kept, so an interrupted
# grid continues.
#
#   scripts/unseen.sh                 the grid below, small-data setting
# The default is small so that the whole grid fits a session (about 30 minutes on 2 cores):
# the first 4,000 training images (about 2,800 after the hold-out) and 3,000 test images,
# batch 64 rather than 512 so that 2 epochs are 88 steps. The paper's batch on all the data:
#   SEEDS="0 1 2 3 4" LIMIT=60000 LIMIT_TEST=10000 BATCH=512 EPOCHS=6 scripts/unseen.sh
source "$(dirname "$0")/common.sh"
out=${OUT:-runs/unseen}
limit=${LIMIT:-4000}
limit_test=${LIMIT_TEST:-3000}
epochs=${EPOCHS:-2}
batch=${BATCH:-64}
seeds=${SEEDS:-0 1 2}
mnist=${MNIST_DIR:-${REPONET_DATA:-$HOME/.cache/reponet}/mnist}
runs=()
for dataset in mnist fashion-mnist; do
    data=()
    [ "$dataset" = mnist ] && data=(--data-dir "$mnist")
    for polytope in simplex orthoplex cube; do
        for head in fixed learnable; do
            for seed in $seeds; do
                run="$out/$dataset-$polytope-$head-seed$seed"
                runs+=("$run")
                [ -f "$run/summary.json" ] && continue
                "$reponet" train --dataset "$dataset" "${data[@]}" --polytope "$polytope" \
                    --head "$head" --holdout-classes 3 --seed "$seed" --epochs "$epochs" --batch-size "$batch" \
                    --limit-train "$limit" --limit-test "$limit_test" --out "$run" --force
            done
        done
    done
done
"$reponet" report "${runs[@]}" --out "$out/report"
