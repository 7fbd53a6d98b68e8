#!/usr/bin/env python3
"""Turn results/bench/*.json(l) into BENCHMARKS.md's measured tables.

Rewrites the part of BENCHMARKS.md between `<!-- bench:begin -->` and `<!-- bench:end -->`
(and, when results/bench/heads.json exists, between `<!-- heads:begin -->` and
`<!-- heads:end -->`; when results/bench-gpu/ exists, the GPU machine's tables from
`scripts/bench-gpu.sh` between `<!-- gpu:begin -->` and `<!-- gpu:end -->`); the prose around
them is kept. Numbers are never typed in by hand.

    python3 scripts/bench-tables.py results/bench BENCHMARKS.md
"""
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine(folder):
    """The CPU the figures in `folder` were measured on: its machine.txt (written by the
    bench scripts when they run), else this machine's."""
    path = os.path.join(folder, "machine.txt")
    return open(path).read().strip() if os.path.exists(path) else cpu_model()


def replace_block(text, name, block):
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    new = f"{begin}\n{block}\n{end}"
    if begin in text and end in text:
        return re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: new, text, flags=re.S)
    return text.rstrip() + "\n\n" + new + "\n"


def phases(folder, pattern):
    """Each (phase, batch)'s results over the runs, and the last report's metadata."""
    found, meta = {}, {}
    for path in sorted(glob.glob(os.path.join(folder, pattern))):
        report = json.load(open(path))
        meta = report
        for p in report["phases"]:
            found.setdefault((p["phase"], p["batch"]), []).append(p)
    return found, meta


def jsonl(path):
    """The records of a JSON-lines file (the peer's output)."""
    return [json.loads(line) for line in open(path) if line.strip()]


def model_table(folder):
    ours, meta = phases(folder, "reponet-*.json")
    burns, _ = phases(folder, "burn-kernels-*.json")
    # reponet on Burn's LibTorch backend (TCH=... scripts/bench.sh), when it was run.
    torch_backend, _ = phases(folder, "libtorch-*.json")
    peer = {}
    torch_version = None
    for path in sorted(glob.glob(os.path.join(folder, "peer-*.jsonl"))):
        for p in jsonl(path):
            torch_version = p.get("torch")
            peer.setdefault((p["bench"], p["batch"]), []).append(p["img_per_s"])
    runs = max((len(v) for v in ours.values()), default=0)
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        f"Machine: {machine(folder)}, {meta.get('threads', '?')} threads; reponet "
        f"{meta.get('reponet_version', '?')} ({meta.get('backend', '?')}, "
        f"{meta.get('conv_kernels', '?')} convolutions, {rustc or 'rustc ?'}); "
        f"PyTorch {torch_version or 'not run'} eager, CPU. Medians over {runs} run(s), each the "
        "median of 7 timed steps after 2 warm-up steps (`scripts/bench.sh`).",
        "",
        "| phase | batch | reponet img/s | PyTorch img/s | reponet / PyTorch | reponet peak RSS (MiB) "
        "| on Burn's convolutions img/s | speed-up from reponet's kernels |"
        + (" on LibTorch (`--device libtorch`) img/s |" if torch_backend else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|" if torch_backend else ""),
    ]
    for key in sorted(ours, key=lambda k: (k[0] != "train", -k[1])):
        ips = statistics.median(p["images_per_second"] for p in ours[key])
        rss = [p["peak_rss_bytes"] for p in ours[key] if p.get("peak_rss_bytes")]
        rss = f"{statistics.median(rss) / 2**20:.0f}" if rss else "-"
        theirs = statistics.median(peer[key]) if key in peer else None
        ratio = f"{ips / theirs:.2f}" if theirs else "-"
        theirs = f"{theirs:.0f}" if theirs else "-"
        before = statistics.median(p["images_per_second"] for p in burns[key]) if key in burns else None
        gain = f"{ips / before:.2f}x" if before else "-"
        before = f"{before:.0f}" if before else "-"
        row = f"| {key[0]} | {key[1]} | {ips:.0f} | {theirs} | {ratio} | {rss} | {before} | {gain} |"
        if torch_backend:
            lt = [p["images_per_second"] for p in torch_backend.get(key, [])]
            row += f" {statistics.median(lt):.0f} |" if lt else " - |"
        lines.append(row)
    return "\n".join(lines)


def peer_phases(path):
    """{(phase, batch): img/s} of one peer --bench output (JSON lines)."""
    return {(p["bench"], p["batch"]): p["img_per_s"] for p in jsonl(path)}


def side_by_side(ours_path, peer_path, ours_name, peer_name):
    """One reponet bench report beside one peer run, phase by phase."""
    ours = json.load(open(ours_path))
    theirs = peer_phases(peer_path) if os.path.exists(peer_path) else {}
    lines = [
        f"| phase | batch | {ours_name} img/s | {peer_name} img/s | reponet / PyTorch |",
        "|---|---|---|---|---|",
    ]
    for p in ours["phases"]:
        key = (p["phase"], p["batch"])
        peer = theirs.get(key)
        ratio = f"{p['images_per_second'] / peer:.3f}" if peer else "-"
        peer = f"{peer:.0f}" if peer else "-"
        lines.append(f"| {key[0]} | {key[1]} | {p['images_per_second']:.0f} | {peer} | {ratio} |")
    return lines


def gpu_tables(folder):
    """The GPU machine's figures (scripts/bench-gpu.sh): its GPU, then its CPU, every core."""
    machine = json.load(open(os.path.join(folder, "machine.json")))
    path = lambda name: os.path.join(folder, name)
    gpu = machine["gpu"].split(", ")
    if len(gpu) == 3:  # nvidia-smi's name, driver_version, memory.total
        gpu = f"{gpu[0]} ({gpu[2]}, driver {gpu[1]})"
    else:
        gpu = machine["gpu"]
    lines = [
        f"Machine: {gpu}; CPU {machine['cpu']}, {machine['cores']} "
        f"cores. PyTorch {machine['torch']} (CUDA {machine['cuda']}) eager. Each figure is one "
        "run's median of 10 timed steps after 3 warm-up steps (`scripts/bench-gpu.sh`).",
        "",
        "GPU: reponet `--device wgpu` (Burn's wgpu backend on the GPU's Vulkan driver) and the "
        "peer `--device cuda`:",
        "",
    ]
    lines += side_by_side(path("reponet-wgpu.json"), path("peer-cuda.jsonl"),
                          "reponet (wgpu)", "PyTorch (CUDA)")
    epoch, peer_epoch = path("reponet-wgpu-epoch.json"), path("peer-cuda-epoch.jsonl")
    if os.path.exists(epoch) and os.path.exists(peer_epoch):
        ours = json.load(open(epoch))["epoch"]
        theirs = next(r for r in jsonl(peer_epoch) if "epoch_s" in r)
        first, steady = theirs["epoch_s"][0], theirs["epoch_s"][-1]
        lines += [
            "",
            "One full-MNIST epoch, batch 512, fixed 9-simplex, margin loss: reponet "
            f"{ours['seconds']:.1f} s end to end (data loaded, trained, evaluated; the first "
            f"epoch of the process, kernel tuning included), test accuracy "
            f"{ours['test_accuracy']:.2f} %; PyTorch {first:.2f} s for its first epoch and "
            f"{steady:.2f} s for its second (training only, data already on the GPU).",
        ]
    for model in ("resnet20", "resnet18"):
        ours = path(f"reponet-wgpu-{model}.json")
        if os.path.exists(ours):
            lines += ["", f"{model} on 3 x 32 x 32 (SGD recipe), GPU:", ""]
            lines += side_by_side(ours, path(f"peer-cuda-{model}.jsonl"),
                                  "reponet (wgpu)", "PyTorch (CUDA)")
    cpu = path("reponet-cpu.json")
    if os.path.exists(cpu):
        threads = json.load(open(cpu)).get("threads", "?")
        lines += ["", f"The same machine's CPU, {threads} threads, both on the CPU:", ""]
        lines += side_by_side(cpu, path("peer-cpu.jsonl"), "reponet (CPU)", "PyTorch (CPU)")
    return "\n".join(lines)


def resnet_table(folder):
    """ResNets (scripts/bench-resnet.sh): reponet, reponet on Burn's convolutions, PyTorch
    eager and torch.compile, medians over the rounds, per network and phase."""
    def ours(pattern):
        found = {}
        for path in sorted(glob.glob(os.path.join(folder, pattern))):
            for p in json.load(open(path))["phases"]:
                found.setdefault((p["phase"], p["batch"]), []).append(p)
        return found

    def peer(pattern):
        found, version = {}, None
        for path in sorted(glob.glob(os.path.join(folder, pattern))):
            for p in jsonl(path):
                version = p.get("torch")
                found.setdefault((p["bench"], p["batch"]), []).append(p)
        return found, version

    models = sorted({os.path.basename(p).split("-")[1] for p in glob.glob(os.path.join(folder, "reponet-*.json"))},
                    key=lambda m: (m != "resnet20", m))
    rounds, version = 0, None
    lines = [
        "| network | phase | batch | reponet img/s | PyTorch eager img/s | reponet / eager "
        "| torch.compile img/s | reponet / compile | reponet peak RSS (MiB) | PyTorch peak RSS (MiB) "
        "| on Burn's convolutions img/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    med = lambda values: statistics.median(values) if values else None
    fmt = lambda v, f="{:.0f}": f.format(v) if v is not None else "-"
    for m in models:
        r, b = ours(f"reponet-{m}-*.json"), ours(f"burn-kernels-{m}-*.json")
        (e, version_e), (c, version_c) = peer(f"peer-{m}-*.jsonl"), peer(f"peer-compiled-{m}-*.jsonl")
        version = version or version_e or version_c
        for key in sorted(r, key=lambda k: (k[0] != "train", k[1])):
            rounds = max(rounds, len(r[key]))
            ips = med([p["images_per_second"] for p in r[key]])
            rss = med([p["peak_rss_bytes"] / 2**20 for p in r[key] if p.get("peak_rss_bytes")])
            eager = med([p["img_per_s"] for p in e.get(key, [])])
            compiled = med([p["img_per_s"] for p in c.get(key, [])])
            peer_rss = med([p["peak_rss_mib"] for p in e.get(key, []) if "peak_rss_mib" in p])
            burn = med([p["images_per_second"] for p in b.get(key, [])])
            lines.append(
                f"| {m} | {key[0]} | {key[1]} | {ips:.0f} | {fmt(eager)} | "
                f"{fmt(eager and ips / eager, '{:.2f}')} | {fmt(compiled)} | "
                f"{fmt(compiled and ips / compiled, '{:.2f}')} | {fmt(rss)} | {fmt(peer_rss)} | {fmt(burn)} |"
            )
    head = (
        f"Machine: {machine(folder)}; 3 x 32 x 32 random inputs, fixed 9-simplex, margin loss, SGD "
        f"(momentum 0.9, weight decay 5e-4); PyTorch {version or 'not run'} with the same network "
        f"(`benches/pytorch/resnet_reponet.py`) and threads. Medians over {rounds} interleaved "
        "round(s), each the median of its timed steps (`scripts/bench-resnet.sh`). PyTorch's peak "
        "RSS is its process's, over all phases (the interpreter and libtorch included)."
    )
    return head + "\n\n" + "\n".join(lines)


def heads_table(path):
    report = json.load(open(path))
    lines = [
        f"Machine: {machine(os.path.dirname(path))}, {report.get('threads', '?')} threads. Head + margin loss alone, "
        "batch 512, trainable features; median of 5 steps after 1 warm-up "
        "(`reponet bench --heads`).",
        "",
        "| K | d | head | trainable parameters | Adam state (MiB) | step (ms) | peak RSS (MiB) | fixed rows |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["heads"]:
        rss = f"{r['peak_rss_bytes'] / 2**20:.0f}" if r.get("peak_rss_bytes") else "-"
        lines.append(
            f"| {r['classes']} | {r['dim']} | {r['head']} | {r['trainable_parameters']:,} | "
            f"{r['optimizer_state_bytes'] / 2**20:.1f} | {1e3 * r['median_step_seconds']:.1f} | "
            f"{rss} | {r['vertices'] or '-'} |"
        )
    return "\n".join(lines)


def main():
    folder, target = sys.argv[1], sys.argv[2]
    text = open(target).read() if os.path.exists(target) else "# Benchmarks\n"
    if glob.glob(os.path.join(folder, "reponet-*.json")):
        text = replace_block(text, "bench", model_table(folder))
    gpu = os.path.join(os.path.dirname(os.path.normpath(folder)), "bench-gpu")
    if os.path.exists(os.path.join(gpu, "machine.json")):
        text = replace_block(text, "gpu", gpu_tables(gpu))
    resnet = os.path.join(os.path.dirname(os.path.normpath(folder)), "bench-resnet")
    if glob.glob(os.path.join(resnet, "reponet-*.json")):
        text = replace_block(text, "resnet", resnet_table(resnet))
    heads = os.path.join(folder, "heads.json")
    if os.path.exists(heads):
        text = replace_block(text, "heads", heads_table(heads))
    tmp = target + ".tmp"
    open(tmp, "w").write(text)
    os.replace(tmp, target)


if __name__ == "__main__":
    main()
