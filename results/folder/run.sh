#!/usr/bin/env bash
# Fashion-MNIST as a PNG folder against the same images as IDX files (issue 22): the folder is
# written by `reponet data to-folder`, checked, and both are trained with the paper's recipe
# (fixed simplex, margin loss) for 3 epochs, seed 0, then evaluated.
#   REPONET=target/release/reponet results/folder/run.sh
source "$(dirname "$0")/../../scripts/common.sh"
out=results/folder
png=${PNG_DIR:-/tmp/fashion-png}
[ -d "$png" ] || "$reponet" data to-folder fashion-mnist --out "$png" | tee "$out/to-folder.txt"
"$reponet" data check "folder:$png" > "$out/check.txt"
for run in idx png; do
    dataset=fashion-mnist
    [ $run = png ] && dataset="folder:$png"
    [ -f "$out/$run/summary.json" ] || "$reponet" train --dataset "$dataset" --epochs 3 --seed 0 \
        --out "$out/$run" --force 2>"$out/$run.log"
    "$reponet" eval "$out/$run" > "$out/$run.eval.txt"
done
# Each model on the other's copy of the test images: the folder's classes are sorted by name
# (Ankle boot first), and eval maps them to the run's classes by name.
"$reponet" eval results/folder/idx --dataset "folder:$png" > "$out/idx-on-png.txt"
"$reponet" eval results/folder/png --dataset fashion-mnist > "$out/png-on-idx.txt"
for run in idx png; do "$reponet" eval "$out/$run" > "$out/$run.eval.txt"; done
