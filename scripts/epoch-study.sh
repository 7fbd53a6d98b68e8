#!/usr/bin/env bash
# The epoch study (issue 7): the paper does not say how long it trained, so train its MNIST
# margin run (fixed simplex, the paper's recipe) for EPOCHS epochs, testing after each, and
# let `reponet report` draw the curve (runs/epoch-study/report), which RESULTS.md includes.
# An interrupted study continues from its last checkpoint when run again.
#
#   scripts/epoch-study.sh            10 epochs, full MNIST from $REPONET_DATA/mnist (default ~/.cache/reponet) (~90 min)
source "$(dirname "$0")/common.sh"
run=${RUN:-runs/epoch-study-simplex-fixed}
if [ -f "$run/summary.json" ]; then
    :
elif [ -f "$run/checkpoint.bin" ]; then
    "$reponet" train --resume "$run"
else
    "$reponet" train --data-dir "${MNIST_DIR:-${REPONET_DATA:-$HOME/.cache/reponet}/mnist}" --epochs "${EPOCHS:-10}" \
        --out "$run"
fi
"$reponet" report "$run" --out runs/epoch-study/report
