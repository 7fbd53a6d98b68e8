#!/usr/bin/env bash
# Brings the finished runs of a fidelity.sh study trained outside the work tree (OUT=RUNS_DIR,
# with a copy of the binary) into results/fidelity/: each evaluated run's config, metrics,
# summary and evaluation, its log and its eval text, never its weights; then refills the
# tables of RESULTS.md and results/fidelity/grid.md. Runs still training are left alone.
#
#   scripts/fidelity-collect.sh RUNS_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:?usage: scripts/fidelity-collect.sh RUNS_DIR}
results=results/fidelity
for eval in "$runs"/*/eval.json; do
    [ -f "$eval" ] || continue
    dir=$(dirname "$eval")
    name=$(basename "$dir")
    mkdir -p "$results/$name"
    cp "$dir"/{config.json,metrics.jsonl,summary.json,eval.json} "$results/$name/"
    cp "$runs/$name.log" "$runs/$name.eval.txt" "$results/"
done
python3 scripts/fidelity-tables.py --fill RESULTS.md
python3 scripts/fidelity-tables.py >"$results/grid.md"
rm -rf scripts/__pycache__
