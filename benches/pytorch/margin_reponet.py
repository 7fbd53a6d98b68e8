#!/usr/bin/env python3
"""PyTorch reference for Margin-RePoNet (arXiv 2301.06116): the peer to measure against.

LeNet++ (Wen et al. 2016) with PReLU, Kaiming init, Adam lr 5e-4, batch 512,
fixed regular-polytope classifier (d-simplex, d-orthoplex, d-cube, as in the
authors' RePoNet code: all polytope vertices are outputs, the K classes take the
first K), features L2-normalised and scaled by s=30, additive angular margin
m = phi (Eq. 9-12). Baseline: the same with a learnable (normalised) classifier.

Prints one JSON line per run: per-epoch wall seconds, test accuracy, and
angular compactness / separation of the test features.

Examples:
  python3 benches/pytorch/margin_reponet.py --data ~/.cache/reponet/mnist --epochs 3 --polys simplex --learnable 0
  python3 benches/pytorch/margin_reponet.py --bench train:512,train:128,infer:512 --threads 2 --device cpu
Needs: pip install torch numpy
"""
import argparse, gzip, json, math, os, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def find(d, *names):
    for n in names:
        for ext in ("", ".gz"):
            p = os.path.join(d, n + ext)
            if os.path.exists(p):
                return p
    raise FileNotFoundError(f"{names} in {d}")


def load(d, prefix=""):
    tr_x = read_idx(find(d, prefix + "train-images-idx3-ubyte", prefix + "train-images.idx3-ubyte"))
    tr_y = read_idx(find(d, prefix + "train-labels-idx1-ubyte", prefix + "train-labels.idx1-ubyte"))
    te_x = read_idx(find(d, prefix + "t10k-images-idx3-ubyte", prefix + "t10k-images.idx3-ubyte",
                         prefix + "test-images-idx3-ubyte"))
    te_y = read_idx(find(d, prefix + "t10k-labels-idx1-ubyte", prefix + "t10k-labels.idx1-ubyte",
                         prefix + "test-labels-idx1-ubyte"))
    return tr_x, tr_y, te_x, te_y


# ---------------------------------------------------------------- polytopes
def simplex(K):
    d = K - 1
    x = np.zeros((d + 1, d))
    x[:d, :d] = np.eye(d)
    x[d, :] = (1.0 - math.sqrt(d + 1.0)) / d
    x -= x.mean(axis=0, keepdims=True)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, d, math.acos(-1.0 / d)


def orthoplex(K):
    d = math.ceil(K / 2)
    x = np.vstack([np.eye(d), -np.eye(d)])
    return x, d, math.pi / 2


def cube(K):
    d = math.ceil(math.log2(K))
    x = np.array([[(1, -1)[(t >> i) % 2] for i in range(d)] for t in range(2 ** d)], dtype=np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, d, math.acos((d - 2.0) / d)


POLY = {"simplex": simplex, "orthoplex": orthoplex, "cube": cube}


# ---------------------------------------------------------------- model
class LeNetPP(nn.Module):
    """LeNet++ for inputs of shape (channels, rows, cols): MNIST's (1, 28, 28) by default, or
    the `input_shape` of a model `reponet export` wrote."""

    def __init__(self, d, input_shape=(1, 28, 28)):
        super().__init__()
        channels, rows, cols = input_shape
        c = [channels, 32, 32, 64, 64, 128, 128]
        self.convs = nn.ModuleList(nn.Conv2d(c[i], c[i + 1], 5, padding=2) for i in range(6))
        self.acts = nn.ModuleList(nn.PReLU() for _ in range(6))
        self.fc = nn.Linear(128 * (rows // 8) * (cols // 8), d)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        for i in range(6):
            x = self.acts[i](self.convs[i](x))
            if i % 2 == 1:
                x = F.max_pool2d(x, 2)
        return self.fc(x.flatten(1))


class Head(nn.Module):
    """Cosine head: fixed polytope vertices, or learnable normalised weights."""

    def __init__(self, W, learnable):
        super().__init__()
        W = torch.tensor(W, dtype=torch.float32)
        if learnable:
            self.W = nn.Parameter(torch.randn_like(W) * 0.01)
        else:
            self.register_buffer("W", W)

    def forward(self, f):
        return F.linear(F.normalize(f), F.normalize(self.W))


def arc_logits(cos, y, s, m):
    cos = cos.clamp(-1 + 1e-7, 1 - 1e-7)
    sin = torch.sqrt(1.0 - cos * cos)
    phi = cos * math.cos(m) - sin * math.sin(m)
    th, mm = math.cos(math.pi - m), math.sin(math.pi - m) * m
    phi = torch.where(cos > th, phi, cos - mm)
    onehot = F.one_hot(y, cos.shape[1]).bool()
    return s * torch.where(onehot, phi, cos)


def run(args, data, dev, poly, learnable, epochs, loader_mode):
    tr_x, tr_y, te_x, te_y = data
    K = int(tr_y.max()) + 1
    W, d, phi = POLY[poly](K)
    m = phi if args.margin < 0 else args.margin
    torch.manual_seed(args.seed)
    net = LeNetPP(d).to(dev)
    head = Head(W, learnable).to(dev)
    params = list(net.parameters()) + [p for p in head.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=5e-4)
    mean, std = 0.1307, 0.3081
    Xtr = ((torch.tensor(tr_x, dtype=torch.float32) / 255.0 - mean) / std).unsqueeze(1)
    Ytr = torch.tensor(tr_y.astype(np.int64))
    Xte = ((torch.tensor(te_x, dtype=torch.float32) / 255.0 - mean) / std).unsqueeze(1).to(dev)
    Yte = torch.tensor(te_y.astype(np.int64)).to(dev)
    if loader_mode == "resident":
        Xtr, Ytr = Xtr.to(dev), Ytr.to(dev)
    else:
        ds = torch.utils.data.TensorDataset(Xtr, Ytr)
        dl = torch.utils.data.DataLoader(ds, batch_size=args.batch, shuffle=True, num_workers=4,
                                         pin_memory=True, drop_last=False, persistent_workers=True)
    N = Xtr.shape[0]
    steps_per_epoch = (N + args.batch - 1) // args.batch
    warm_steps = int(args.margin_warmup * steps_per_epoch)
    step = 0
    times, accs = [], []
    for ep in range(epochs):
        net.train()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        if loader_mode == "resident":
            perm = torch.randperm(N, device=dev)
            batches = ((Xtr[perm[i:i + args.batch]], Ytr[perm[i:i + args.batch]]) for i in range(0, N, args.batch))
        else:
            batches = ((xb.to(dev, non_blocking=True), yb.to(dev, non_blocking=True)) for xb, yb in dl)
        for xb, yb in batches:
            f = net(xb)
            if args.loss == "softmax":  # Eq. 6: unit weights, raw features, no margin
                logits = F.linear(f, F.normalize(head.W))
            elif args.loss == "cosine":  # Eq. 8: normalised features scaled by s, no margin
                logits = args.scale * head(f)
            else:  # Eq. 9, margin ramped linearly from 0 over the warm-up steps
                m_now = m * min(1.0, (step + 1) / warm_steps) if warm_steps else m
                logits = arc_logits(head(f), yb, args.scale, m_now)
            step += 1
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        acc, feats = evaluate(net, head, Xte, Yte, K)
        accs.append(acc)
    comp = compactness(feats, Yte, head, K)
    return {"poly": poly, "learnable": learnable, "loss": args.loss, "d": d, "K": K, "margin": m, "loader": loader_mode, "margin_warmup": args.margin_warmup,
            "epoch_s": [round(t, 3) for t in times], "test_acc": accs, "final_acc": accs[-1],
            "loss_last": loss.item(), **comp}


@torch.no_grad()
def evaluate(net, head, X, Y, K):
    net.eval()
    feats = torch.cat([net(X[i:i + 2000]) for i in range(0, X.shape[0], 2000)])
    cos = head(feats)[:, :K]
    acc = (cos.argmax(1) == Y).float().mean().item()
    return round(100 * acc, 3), feats


@torch.no_grad()
def compactness(feats, Y, head, K):
    f = F.normalize(feats)
    W = F.normalize(head.W)[:K]
    ang_w = torch.rad2deg(torch.acos((f * W[Y]).sum(1).clamp(-1, 1)))
    means = torch.stack([F.normalize(f[Y == k].mean(0), dim=0) for k in range(K)])
    ang_mu = torch.rad2deg(torch.acos((f * means[Y]).sum(1).clamp(-1, 1)))
    G = means @ means.T
    G.fill_diagonal_(-1)
    min_sep = torch.rad2deg(torch.acos(G.max().clamp(-1, 1))).item()
    return {"mean_angle_to_weight_deg": round(ang_w.mean().item(), 3),
            "mean_angle_to_class_mean_deg": round(ang_mu.mean().item(), 3),
            "min_angle_between_class_means_deg": round(min_sep, 3)}


def bench(args, dev):
    """Throughput of one train step (forward, backward, optimiser) and of inference, random
    inputs: LeNet++ with Adam, or a ResNet (resnet_reponet.py) with SGD as reponet's recipe
    (momentum 0.9, weight decay 5e-4)."""
    import resource
    import statistics
    W, d, phi = POLY[args.polys.split(",")[0]](10)
    for kind, b in (p.split(":") for p in args.bench.split(",")):
        b = int(b)
        torch.manual_seed(0)
        shape = (args.channels, args.image_size, args.image_size)
        if args.model == "lenet++":
            net = LeNetPP(d, shape).to(dev)
            opt = torch.optim.Adam(net.parameters(), lr=5e-4)
        else:
            from resnet_reponet import ReponetResNet
            net = ReponetResNet(args.model, d, args.channels,
                                "imagenet" if args.image_size > 64 else "cifar").to(dev)
            opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        head = Head(W, False).to(dev)
        x = torch.rand(b, *shape, device=dev)
        y = torch.randint(0, 10, (b,), device=dev)
        net.train(kind == "train")
        if args.compile:
            net, head = torch.compile(net), torch.compile(head)
        times = []
        for it in range(args.warmup + args.steps):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            if kind == "train":
                loss = F.cross_entropy(arc_logits(head(net(x)), y, args.scale, phi), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss.item()
            else:
                with torch.inference_mode():
                    head(net(x)).sum().item()
            if it >= args.warmup:
                times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        print(json.dumps({"bench": kind, "batch": b, "compiled": bool(args.compile), "median_step_s": round(med, 5),
                          "img_per_s": round(b / med, 1), "threads": torch.get_num_threads(),
                          "model": args.model, "image": list(shape),
                          "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                          "device": str(dev), "torch": torch.__version__}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="folder with the four MNIST-format IDX files (raw or .gz)")
    ap.add_argument("--bench", default="", help="e.g. train:512,train:128,infer:512 (random inputs; no --data)")
    ap.add_argument("--steps", type=int, default=7, help="timed steps per --bench phase (median reported)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps before each --bench phase")
    ap.add_argument("--compile", action="store_true", help="--bench with torch.compile'd model and head")
    ap.add_argument("--model", default="lenet++", help="--bench network: lenet++ or a resnet_reponet.py name")
    ap.add_argument("--image-size", type=int, default=28, help="--bench input side")
    ap.add_argument("--channels", type=int, default=1, help="--bench input channels")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("--prefix", default="")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--scale", type=float, default=30.0)
    ap.add_argument("--margin", type=float, default=-1.0, help="<0: m = phi of the polytope")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--polys", default="simplex,orthoplex,cube")
    ap.add_argument("--learnable", default="0,1")
    ap.add_argument("--loader", default="resident")
    ap.add_argument("--loss", default="margin", choices=["margin", "cosine", "softmax"])
    ap.add_argument("--margin-warmup", type=float, default=0.0, help="epochs over which m ramps from 0 to its value")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N train/test samples")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    dev = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.bench:
        return bench(args, dev)
    if not args.data:
        ap.error("--data is required unless --bench is given")
    data = load(args.data, args.prefix)
    if args.limit:
        data = (data[0][:args.limit], data[1][:args.limit], data[2][:args.limit], data[3][:args.limit])
    print(json.dumps({"torch": torch.__version__, "device": str(dev),
                      "gpu": torch.cuda.get_device_name(0) if dev.type == "cuda" else None,
                      "cudnn_tf32": torch.backends.cudnn.allow_tf32}), flush=True)
    for loader in args.loader.split(","):
        for poly in args.polys.split(","):
            for lr in args.learnable.split(","):
                r = run(args, data, dev, poly, bool(int(lr)), args.epochs, loader)
                print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
