#!/usr/bin/env python3
"""Rewrite README.md's block between the core-runs markers from the runs in results/core.

usage: scripts/core-tables.py [BIN]   (BIN: the reponet binary, default target/release/reponet)

The run tables come from `reponet report`; the angle tables from each run's eval.json.
"""
import glob
import json
import os
import re
import subprocess
import sys

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/reponet"
ROOT = os.path.join(os.path.dirname(__file__), "..")
RUNS = os.path.join(ROOT, "results", "core")


def runs(pattern):
    return sorted(d for d in glob.glob(os.path.join(RUNS, pattern)) if os.path.isdir(d))


def table(dirs):
    return subprocess.run([BIN, "report", *dirs], check=True, capture_output=True, text=True).stdout


def angles(dirs):
    lines = [
        "| run | test accuracy (%) | mean angle feature-to-class-weight (deg) "
        "| mean angle feature-to-class-mean (deg) | smallest angle between class means (deg) |",
        "|---|---|---|---|---|",
    ]
    for d in dirs:
        path = os.path.join(d, "eval.json")
        if not os.path.exists(path):
            continue
        e = json.load(open(path))
        g = e["geometry"]
        lines.append(
            f"| {os.path.basename(d)} | {e['accuracy']:.2f} | {g['mean_angle_to_class_weight']:.1f} "
            f"| {g['mean_angle_to_class_mean']:.1f} | {g['min_angle_between_class_means']:.1f} |"
        )
    return "\n".join(lines) + "\n"


warmup, full = runs("warmup-*"), runs("full-*")
block = (
    "Warm-up study, 10,000 training images, 2 epochs (40 steps of 512), 2,000 test images:\n\n"
    + table(warmup) + "\n" + angles(warmup) + "\n"
    + "Full MNIST (60,000 / 10,000), 3 epochs, default warm-up (`auto`) unless the name says "
    "`no-warmup`:\n\n"
    + table(full) + "\n" + angles(full)
)
readme = os.path.join(ROOT, "README.md")
text = open(readme).read()
begin = "<!-- core-runs:begin (written by `reponet report`) -->\n"
end = "<!-- core-runs:end -->"
new, n = re.subn(re.escape(begin) + ".*?" + re.escape(end), lambda _: begin + block + end, text, flags=re.S)
if n != 1:
    sys.exit("README.md: core-runs markers not found")
open(readme, "w").write(new)
print(f"README.md: {len(warmup)} warm-up runs, {len(full)} full runs")
