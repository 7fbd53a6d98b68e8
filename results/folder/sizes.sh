#!/usr/bin/env bash
# What larger images cost LeNet++ (issue 22): the built-in sample written as PNG, trained for
# one epoch on 1,024 images at several input shapes (resized on load), batch 64; training
# images/s and the linear layer's input size, per shape.
#   REPONET=target/release/reponet results/folder/sizes.sh
source "$(dirname "$0")/../../scripts/common.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$reponet" -q data to-folder mnist-sample --out "$tmp/digits" >/dev/null
echo "| input (C x H x W) | linear layer input | training images/s | relative to 1 x 28 x 28 |"
echo "|---|---|---|---|"
base=
for shape in 1:28 3:32 1:64 3:64 3:128; do
    c=${shape%:*} side=${shape#*:}
    "$reponet" -q train --dataset "folder:$tmp/digits" --channels "$c" --image-size "$side" \
        --limit-train 1024 --limit-test 64 --epochs 1 --batch-size 64 --out "$tmp/run-$c-$side" >/dev/null 2>&1
    ips=$(python3 -c "import json;print(round(json.loads(open('$tmp/run-$c-$side/metrics.jsonl').readline())['images_per_second'],1))")
    base=${base:-$ips}
    echo "| $c x $side x $side | $((128 * (side / 8) * (side / 8))) | $ips | $(python3 -c "print(f'{$ips / $base:.2f}')") |"
done
