"""reponet's ResNets in PyTorch, under the names `reponet export` writes (torchvision's):
the CIFAR family (resnet20 ... resnet110: 16/32/64 channels, option-A shortcuts that take
every second pixel and pad with zero channels) and torchvision's resnet18/34/50 (with the
3x3 "cifar" stem or the 7x7 + max-pool "imagenet" one), each ending in global average
pooling, `fc` to the polytope's d and `fc_bn`, a batch norm of the d features.

    from resnet_reponet import load_export
    net, W, meta = load_export("model.safetensors")   # eval mode, head.W as W
    features = net(x)                                  # x standardised as meta says
"""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

CIFAR = {"resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18}
IMAGENET = {"resnet18": ([2, 2, 2, 2], False), "resnet34": ([3, 4, 6, 3], False),
            "resnet50": ([3, 4, 6, 3], True)}


class OptionA(nn.Module):
    """x[:, :, ::2, ::2] with `pad` zero channels before and after (no parameters)."""

    def __init__(self, pad):
        super().__init__()
        self.pad = pad

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class Block(nn.Module):
    def __init__(self, inputs, width, stride, bottleneck, cifar):
        super().__init__()
        out = width * (4 if bottleneck else 1)
        shapes = ([(inputs, width, 1, 1), (width, width, 3, stride), (width, out, 1, 1)]
                  if bottleneck else [(inputs, width, 3, stride), (width, width, 3, 1)])
        for i, (cin, cout, k, s) in enumerate(shapes, 1):
            setattr(self, f"conv{i}", nn.Conv2d(cin, cout, k, s, k // 2, bias=False))
            setattr(self, f"bn{i}", nn.BatchNorm2d(cout))
        self.n = len(shapes)
        self.downsample = None  # the input itself
        if stride != 1 or inputs != out:
            self.downsample = (OptionA((out - inputs) // 2) if cifar else nn.Sequential(
                nn.Conv2d(inputs, out, 1, stride, bias=False), nn.BatchNorm2d(out)))

    def forward(self, x):
        y = x
        for i in range(1, self.n + 1):
            y = getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(y))
            if i < self.n:
                y = F.relu(y)
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ReponetResNet(nn.Module):
    def __init__(self, model, dim, in_channels, stem="cifar"):
        super().__init__()
        if model in CIFAR:
            blocks, bottleneck, widths, cifar = [CIFAR[model]] * 3, False, [16, 32, 64], True
            stem = "cifar"
        else:
            (blocks, bottleneck), widths, cifar = IMAGENET[model], [64, 128, 256, 512], False
        first = widths[0] if cifar else 64
        k, s = (7, 2) if stem == "imagenet" else (3, 1)
        self.conv1 = nn.Conv2d(in_channels, first, k, s, k // 2, bias=False)
        self.bn1 = nn.BatchNorm2d(first)
        self.pool = nn.MaxPool2d(3, 2, 1) if stem == "imagenet" else nn.Identity()
        inputs = first
        for i, (n, w) in enumerate(zip(blocks, widths), 1):
            layer = []
            for b in range(n):
                layer.append(Block(inputs, w, 2 if i > 1 and b == 0 else 1, bottleneck, cifar))
                inputs = w * (4 if bottleneck else 1)
            setattr(self, f"layer{i}", nn.Sequential(*layer))
        self.layers = len(blocks)
        self.fc = nn.Linear(inputs, dim)
        self.fc_bn = nn.BatchNorm1d(dim)

    def pooled(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        for i in range(1, self.layers + 1):
            x = getattr(self, f"layer{i}")(x)
        return x.mean((2, 3))

    def forward(self, x):
        return self.fc_bn(self.fc(self.pooled(x)))


def load_export(path):
    """The network of a `reponet export` file (eval mode, strict names and shapes), the
    head's matrix `head.W` and the file's metadata."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    tensors = load_file(path)
    with safe_open(path, "pt") as f:
        meta = f.metadata()
    shape = json.loads(meta["input_shape"])
    net = ReponetResNet(meta["model"], int(meta["dim"]), shape[0], meta.get("stem", "cifar"))
    state = {k: v for k, v in tensors.items() if not k.startswith("head.")}
    # PyTorch's batch norms count their updates; reponet's do not.
    state.update({k: torch.tensor(0) for k in net.state_dict() if k.endswith("num_batches_tracked")})
    net.load_state_dict(state, strict=True)
    return net.eval(), tensors["head.W"], meta
