#!/usr/bin/env python3
"""Tables of `scripts/fidelity.sh resnet` (issue "real networks", item 5): for each network,
polytope and head, the final test accuracy over the finished seeds (mean ± sample sd), and
the fixed - learnable difference of the means with its standard error
sqrt(sd_f² / n_f + sd_l² / n_l); then the mean over those seeds of the test accuracy after
each epoch, to show whether the learnable head has levelled off. Only finished runs
(summary.json) count; unfinished ones are listed as such.

    python3 scripts/resnet-tables.py OUT_FOLDER > OUT_FOLDER/resnet.md
"""
import glob, json, math, os, re, statistics, sys

folder = sys.argv[1]
runs = {}
pending = []
for path in sorted(glob.glob(os.path.join(folder, "resnet-fashion-*"))):
    m = re.fullmatch(r"resnet-fashion-(.+)-(simplex|cube|orthoplex)-(fixed|learnable)-seed(\d+)",
                     os.path.basename(path))
    if not m or not os.path.isdir(path):
        continue
    if not os.path.exists(os.path.join(path, "summary.json")):
        pending.append(os.path.basename(path))
        continue
    lines = open(os.path.join(path, "metrics.jsonl")).read().split("\n")
    last = json.loads([l for l in lines if l.strip()][-1])
    model, polytope, head, _ = m.groups()
    curve = [json.loads(l)["test_accuracy"] for l in lines if l.strip()]
    runs.setdefault((model, polytope), {}).setdefault(head, []).append(
        (last["epoch"], last["test_accuracy"], curve))

def mean_sd(values):
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    return mean, sd

print("| network | polytope | epochs | fixed: test % (mean ± sd, seeds) | learnable | fixed - learnable (± s.e.) |")
print("|---|---|---|---|---|---|")
for (model, polytope), heads in sorted(runs.items()):
    cells, stats = [], {}
    for head in ("fixed", "learnable"):
        done = heads.get(head, [])
        if not done:
            cells.append("-")
            continue
        mean, sd = mean_sd([acc for _, acc, _ in done])
        stats[head] = (mean, sd, len(done))
        cells.append(f"{mean:.2f} ± {sd:.2f} ({len(done)})")
    if len(stats) == 2 and all(n > 1 for _, _, n in stats.values()):
        (mf, sf, nf), (ml, sl, nl) = stats["fixed"], stats["learnable"]
        diff = f"{mf - ml:+.2f} ± {math.sqrt(sf**2 / nf + sl**2 / nl):.2f}"
    else:
        diff = "-"
    epochs = sorted({e for done in heads.values() for e, _, _ in done})
    print(f"| {model} | {polytope} | {', '.join(map(str, epochs))} | {cells[0]} | {cells[1]} | {diff} |")
print("\nTest accuracy (%) after each epoch, mean over the finished seeds:\n")
print("| network | polytope | head | seeds | after each epoch |")
print("|---|---|---|---|---|")
for (model, polytope), heads in sorted(runs.items()):
    for head in ("fixed", "learnable"):
        curves = [c for _, _, c in heads.get(head, [])]
        if curves:
            length = min(len(c) for c in curves)
            means = [statistics.mean(c[e] for c in curves) for e in range(length)]
            print(f"| {model} | {polytope} | {head} | {len(curves)} | {' / '.join(f'{a:.2f}' for a in means)} |")
if pending:
    print(f"\nNot finished: {', '.join(pending)}.")
