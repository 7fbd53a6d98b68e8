"""Pretrained weights as users have them, made here: torchvision's ResNet-18 and ResNet-50
with seeded random weights and randomised batch-norm statistics, saved by PyTorch as a
`.pth` state dict (also nested, as training checkpoints hold one) and as `.safetensors`,
with a few RGB images and PyTorch's pooled features of them in eval mode. reponet must
give the same features from either file (crates/reponet-cli/tests/pretrained.rs).

    python3 pretrained_equality.py OUT_DIR [--size 64] [--images 6]

Writes OUT_DIR/images/*.png, OUT_DIR/{resnet18,resnet50}.{pth,safetensors},
OUT_DIR/resnet18-nested.pth ({"model": state dict with DataParallel's "module." names,
"epoch": 3, "optimizer": ...}), OUT_DIR/{model}.features.npy ([n, channels] float32, rows
in sorted file order) and OUT_DIR/malicious.pth, a state dict whose pickle also asks to
call os.system (reponet must refuse it without running it).
"""
import argparse
import os
import pathlib

import numpy as np
import torch
import torchvision
from PIL import Image
from safetensors.torch import save_file

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def randomised(model, seed):
    torch.manual_seed(seed)
    net = getattr(torchvision.models, model)(weights=None)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    return net.eval()


def pooled(net, x):
    """torchvision's forward up to the average pool, flattened (the features before fc)."""
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    x = net.layer4(net.layer3(net.layer2(net.layer1(x))))
    return torch.flatten(net.avgpool(x), 1)


class Payload:
    """What a malicious checkpoint hides: unpickling it calls os.system."""

    def __reduce__(self):
        return (os.system, ("touch " + os.environ.get("PAYLOAD_MARK", "/tmp/reponet-payload-ran"),))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--images", type=int, default=6)
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(args.images):
        pixels = rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
        path = out / "images" / f"img{i:02d}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    batch = np.stack([np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255 for p in sorted(paths)])
    x = torch.from_numpy(batch).permute(0, 3, 1, 2)
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    for seed, model in enumerate(["resnet18", "resnet50"]):
        net = randomised(model, seed)
        state = net.state_dict()
        torch.save(state, out / f"{model}.pth")
        save_file({k: v.contiguous() for k, v in state.items()}, str(out / f"{model}.safetensors"))
        with torch.no_grad():
            np.save(out / f"{model}.features.npy", pooled(net, x).numpy().astype(np.float32))
        if model == "resnet18":
            nested = {"model": {"module." + k: v for k, v in state.items()}, "epoch": 3,
                      "optimizer": {"lr": 0.1}}
            torch.save(nested, out / "resnet18-nested.pth")
            torch.save({**state, "payload": Payload()}, out / "malicious.pth")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
