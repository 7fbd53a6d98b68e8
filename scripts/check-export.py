#!/usr/bin/env python3
"""Check that `reponet export` gives PyTorch the same model (issues 22 and 29): load the
exported safetensors file into the PyTorch LeNet++ of benches/pytorch/margin_reponet.py, or
a ResNet into benches/pytorch/resnet_reponet.py (strict: every name and shape must match),
compute features and class cosines of MNIST test images, and compare them with `reponet
embed` of the same run.

  scripts/check-export.py MODEL.safetensors EMBEDDINGS.safetensors MNIST_DIR [N]
  scripts/check-export.py MODEL.safetensors EMBEDDINGS.safetensors

EMBEDDINGS is `reponet embed RUN --split test --out EMBEDDINGS.safetensors` of the run that
MODEL was exported from, trained with --limit-test N or more on MNIST in MNIST_DIR; or
`reponet embed RUN --images FILES... --out EMBEDDINGS.safetensors` of any run, the files
(PNG or JPEG at the model's input size: read with Pillow, not resized) listed in its metadata.
"""
import gzip
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benches", "pytorch"))
from margin_reponet import LeNetPP  # noqa: E402
from resnet_reponet import load_export  # noqa: E402

model_path, emb_path = sys.argv[1:3]

tensors = load_file(model_path)
with safe_open(model_path, "pt") as f:
    meta = f.metadata()
d = int(meta["dim"])
shape = json.loads(meta["input_shape"])
if meta.get("model", "lenet++") == "lenet++":
    net = LeNetPP(d, shape)
    net.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("head.")},
                        strict=True)
    net.eval()
else:
    net, _, _ = load_export(model_path)
W = tensors["head.W"]

with safe_open(emb_path, "pt") as f:
    files = json.loads(f.metadata().get("files", "[]"))
if files:
    from PIL import Image

    n = len(files)
    mode = "L" if shape[0] == 1 else "RGB"
    planes = [np.asarray(Image.open(p).convert(mode), np.uint8).reshape(shape[1], shape[2], -1)
              for p in files]
    images = np.stack([p.transpose(2, 0, 1) for p in planes])
else:
    mnist = sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"):
        path = os.path.join(mnist, name)
        if os.path.exists(path):
            raw = (gzip.open if name.endswith(".gz") else open)(path, "rb").read()
            break
    images = np.frombuffer(raw, np.uint8, offset=16)[: n * 784].reshape(n, 1, 28, 28)
mean, std = float(meta["normalization_mean"]), float(meta["normalization_std"])
per_channel = json.loads(meta.get("normalization_per_channel", "null"))
if per_channel and shape[0] == 3:
    mean = torch.tensor(per_channel["mean"], dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(per_channel["std"], dtype=torch.float64).view(1, 3, 1, 1)
x = (torch.tensor(images, dtype=torch.float64) / 255.0 - mean) / std
with torch.no_grad():
    features = net.double()(x)
    cosines = F.linear(F.normalize(features), F.normalize(W.double()))

ours = load_file(emb_path)["features"][:n].double()
scale = ours.abs().max().item()
err = (features - ours).abs().max().item()
print(json.dumps({
    "images": n,
    "model": meta.get("model", "lenet++"),
    "input_shape": shape,
    "max_abs_feature_difference": err,
    "relative_to_largest_feature": err / scale,
    "predicted_classes_equal": int((cosines[:, : int(meta["classes"])].argmax(1)
                                    == F.linear(F.normalize(ours), F.normalize(W.double()))
                                    [:, : int(meta["classes"])].argmax(1)).sum()),
    "class_names": json.loads(meta["class_names"]),
}, indent=1))
assert err <= 1e-4 * scale, "PyTorch's features differ from reponet's"
