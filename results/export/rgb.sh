#!/usr/bin/env bash
# An exported RGB model in PyTorch (issue 22): LeNet++ trained at 3 x 32 x 32 on the built-in
# sample written as PNG (1 epoch: the weights' quality does not matter here), exported, and
# its features of 24 colour 32 x 32 PNG files compared between `reponet embed --images` and
# PyTorch (scripts/check-export.py; needs torch, safetensors, numpy and Pillow).
#   REPONET=target/release/reponet results/export/rgb.sh
source "$(dirname "$0")/../../scripts/common.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$reponet" -q data to-folder mnist-sample --out "$tmp/digits" >/dev/null
"$reponet" -q train --dataset "folder:$tmp/digits" --channels 3 --image-size 32 --epochs 1 \
    --limit-train 2048 --limit-test 256 --batch-size 64 --out "$tmp/run" >/dev/null
"$reponet" export "$tmp/run" --out "$tmp/model.safetensors" 2>/dev/null > results/export/listing-rgb.txt
mkdir "$tmp/images"
python3 - "$tmp/images" <<'PY'
import gzip, sys
import numpy as np
from PIL import Image
raw = gzip.open("crates/reponet/assets/mnist-sample/t10k-images-idx3-ubyte.gz").read()
for i, im in enumerate(np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:24]):
    rgb = np.zeros((32, 32, 3), np.uint8)  # a digit, tinted differently per channel
    rgb[2:30, 2:30, 0], rgb[2:30, 2:30, 1], rgb[2:30, 2:30, 2] = im, im // 2, 255 - im
    Image.fromarray(rgb).save(f"{sys.argv[1]}/{i:02}.png")
PY
"$reponet" -q embed "$tmp/run" --images "$tmp/images" --out "$tmp/emb.safetensors"
python3 scripts/check-export.py "$tmp/model.safetensors" "$tmp/emb.safetensors" \
    | sed "s|$tmp|TMP|g" > results/export/pytorch-check-rgb.json
cat results/export/listing-rgb.txt results/export/pytorch-check-rgb.json
