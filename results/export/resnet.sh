#!/usr/bin/env bash
# Exported ResNets in PyTorch (issue 29): resnet20 on the built-in sample's grey digits and
# resnet18 (3x3 stem) on the same digits as 3 x 32 x 32 colour PNG files, each trained for
# one short epoch (the weights' quality does not matter here), exported, and their features
# of 24 PNG files compared between `reponet embed --images` and PyTorch
# (scripts/check-export.py with benches/pytorch/resnet_reponet.py; needs torch,
# safetensors, numpy and Pillow).
#   REPONET=target/release/reponet results/export/resnet.sh
source "$(dirname "$0")/../../scripts/common.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$reponet" -q data to-folder mnist-sample --out "$tmp/digits" >/dev/null
for model in resnet20 resnet18; do
    extra=()
    [ "$model" = resnet18 ] && extra=(--channels 3 --image-size 32)
    "$reponet" -q train --model "$model" --dataset "folder:$tmp/digits" "${extra[@]}" --epochs 1 \
        --limit-train 512 --limit-test 64 --batch-size 64 --out "$tmp/$model" >/dev/null
    "$reponet" export "$tmp/$model" --out "$tmp/$model.safetensors" 2>/dev/null \
        > "results/export/listing-$model.txt"
    mkdir -p "$tmp/images-$model"
    python3 - "$tmp/images-$model" "$model" <<'PY'
import gzip, sys
import numpy as np
from PIL import Image
raw = gzip.open("crates/reponet/assets/mnist-sample/t10k-images-idx3-ubyte.gz").read()
for i, im in enumerate(np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:24]):
    if sys.argv[2] == "resnet20":
        Image.fromarray(im).save(f"{sys.argv[1]}/{i:02}.png")
    else:
        rgb = np.zeros((32, 32, 3), np.uint8)  # a digit, tinted differently per channel
        rgb[2:30, 2:30, 0], rgb[2:30, 2:30, 1], rgb[2:30, 2:30, 2] = im, im // 2, 255 - im
        Image.fromarray(rgb).save(f"{sys.argv[1]}/{i:02}.png")
PY
    "$reponet" -q embed "$tmp/$model" --images "$tmp/images-$model" --out "$tmp/emb-$model.safetensors"
    python3 scripts/check-export.py "$tmp/$model.safetensors" "$tmp/emb-$model.safetensors" \
        | sed "s|$tmp|TMP|g" > "results/export/pytorch-check-$model.json"
    cat "results/export/pytorch-check-$model.json"
done
python3 -c "import torch; print(torch.__version__)" > results/export/torch-version-resnet.txt
