#!/usr/bin/env python3
"""Tables of the seeded grid (issue 20) from the finished runs of scripts/fidelity.sh grid.

Reads results/fidelity/*/ (config.json, summary.json, eval.json: runs without summary.json are
unfinished and left out) and prints Markdown: fig4 per polytope and head (test accuracy of
each seed, mean and sample sd), the fixed - learnable difference per polytope with its
standard error, then fig2, the simplex without warm-up, and Fig. 5's setting on Fashion-MNIST
(a stand-in for EMNIST balanced). Nothing is typed in: run it again
as runs finish.

  scripts/fidelity-tables.py [RESULTS_DIR] > results/fidelity/grid.md

The difference's uncertainty: with n seeds per head, the standard error of a difference of
means is sqrt(sd_f^2 / n_f + sd_l^2 / n_l) (seed-to-seed spread, which includes the
test-set noise of about 0.1 point per run). A difference is called real when it exceeds two
such standard errors; with one seed per head only the binomial test-set error of each
accuracy, sqrt(p (1 - p) / 10000), is known, and the table says so.
"""
import json
import math
import os
import re
import statistics
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "results/fidelity"
PAPER_FIG4 = {  # the paper's Table/Fig. 4 numbers, fixed and learnable, MNIST (SPEC.md)
    "simplex": (99.45, 99.47),
}


def finished(name):
    d = os.path.join(root, name)
    if not os.path.isfile(os.path.join(d, "summary.json")):
        return None
    accuracy = json.load(open(os.path.join(d, "summary.json")))["final_test_accuracy"]
    evaluation = os.path.join(d, "eval.json")
    if os.path.isfile(evaluation):
        accuracy = json.load(open(evaluation))["accuracy"]
    metrics = [json.loads(line) for line in open(os.path.join(d, "metrics.jsonl"))]
    return {"accuracy": accuracy, "epochs": len(metrics),
            "seconds": sum(m["train_seconds"] for m in metrics),
            "test_images": metrics[-1]["test_images"]}


def binomial_se(p, n):
    return 100 * math.sqrt(p / 100 * (1 - p / 100) / n)


def mean_sd(values):
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else None
    return mean, sd


def fmt(mean, sd):
    return f"{mean:.2f}" + (f" ± {sd:.2f}" if sd is not None else "")


names = sorted(os.listdir(root)) if os.path.isdir(root) else []
grid = {}
for name in names:
    m = re.fullmatch(r"fig4-(simplex|orthoplex|cube)-(fixed|learnable)-seed(\d+)", name)
    if m and (run := finished(name)):
        grid.setdefault((m[1], m[2]), {})[int(m[3])] = run

print("## fig4: margin loss, fixed vs learnable, seeds 0-2\n")
print("Test accuracy (%) of each finished run after its last epoch (`reponet eval`), and the")
print("mean ± sample sd over the seeds finished so far.\n")
print("| polytope | head | seed 0 | seed 1 | seed 2 | mean ± sd | paper |")
print("|---|---|---|---|---|---|---|")
for polytope in ["simplex", "orthoplex", "cube"]:
    for i, head in enumerate(["fixed", "learnable"]):
        runs = grid.get((polytope, head), {})
        cells = [f"{runs[s]['accuracy']:.2f}" if s in runs else "-" for s in range(3)]
        summary = fmt(*mean_sd([r["accuracy"] for r in runs.values()])) if runs else "-"
        paper = PAPER_FIG4.get(polytope)
        print(f"| {polytope} | {head} | " + " | ".join(cells)
              + f" | {summary} | {paper[i] if paper else 'figure only'} |")

print("\nFixed − learnable, points (mean over seeds; ± one standard error; real when beyond two):\n")
print("| polytope | seeds (fixed, learnable) | fixed − learnable | real? |")
print("|---|---|---|---|")
for polytope in ["simplex", "orthoplex", "cube"]:
    f = [r["accuracy"] for r in grid.get((polytope, "fixed"), {}).values()]
    l = [r["accuracy"] for r in grid.get((polytope, "learnable"), {}).values()]
    if not f or not l:
        print(f"| {polytope} | {len(f)}, {len(l)} | - | not yet run |")
        continue
    (mf, sf), (ml, sl) = mean_sd(f), mean_sd(l)
    if sf is not None and sl is not None:
        se, basis = math.sqrt(sf**2 / len(f) + sl**2 / len(l)), "seed spread"
    else:
        se, basis = math.hypot(binomial_se(mf, 10000), binomial_se(ml, 10000)), "test-set noise only"
    diff = mf - ml
    verdict = "yes" if abs(diff) > 2 * se else "no"
    print(f"| {polytope} | {len(f)}, {len(l)} | {diff:+.2f} ± {se:.2f} ({basis}) | {verdict} |")

rows = []
for polytope in ["simplex", "orthoplex", "cube"]:
    if run := finished(f"fig2-{polytope}-fixed-seed0"):
        rows.append(("fig2: softmax loss", polytope, "fixed", run))
if run := finished("fig4-simplex-fixed-no-warmup-seed0"):
    rows.append(("fig4 without margin warm-up", "simplex", "fixed", run))
print("\n## fig2 and the simplex without warm-up, seed 0\n")
if not rows:
    print("Not finished yet.")
else:
    print("| run | polytope | head | test accuracy % | epochs | training s |")
    print("|---|---|---|---|---|---|")
    for what, polytope, head, run in rows:
        print(f"| {what} | {polytope} | {head} | {run['accuracy']:.2f} | {run['epochs']} | {run['seconds']:.0f} |")

print("\n## Fig. 5's setting on Fashion-MNIST (a stand-in for EMNIST balanced), seed 0\n")
standin = [(head, run) for head in ["fixed", "learnable"]
           if (run := finished(f"fig5-standin-fashion-cube-{head}-seed0"))]
if not standin:
    print("Not finished yet.")
else:
    print("The paper's Fig. 5 is EMNIST balanced (47 classes, 6-cube): 88.31 % fixed, 88.39 %")
    print("learnable. These runs are Fashion-MNIST (10 classes, 4-cube), not comparable in value.\n")
    print("| head | test accuracy % | epochs | training s |")
    print("|---|---|---|---|")
    for head, run in standin:
        print(f"| {head} | {run['accuracy']:.2f} | {run['epochs']} | {run['seconds']:.0f} |")
