#!/usr/bin/env python3
"""Tables of `scripts/fidelity.sh resnet` (issue "real networks", item 5): for each network,
polytope and head, the final test accuracy over the finished seeds (mean ± sample sd), and
the fixed - learnable difference of the means with its standard error
sqrt(sd_f² / n_f + sd_l² / n_l). Only finished runs (summary.json) count; unfinished ones
are listed as such.

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
    runs.setdefault((model, polytope), {}).setdefault(head, []).append(
        (last["epoch"], last["test_accuracy"]))

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
        mean, sd = mean_sd([acc for _, acc in done])
        stats[head] = (mean, sd, len(done))
        cells.append(f"{mean:.2f} ± {sd:.2f} ({len(done)})")
    if len(stats) == 2 and all(n > 1 for _, _, n in stats.values()):
        (mf, sf, nf), (ml, sl, nl) = stats["fixed"], stats["learnable"]
        diff = f"{mf - ml:+.2f} ± {math.sqrt(sf**2 / nf + sl**2 / nl):.2f}"
    else:
        diff = "-"
    epochs = sorted({e for done in heads.values() for e, _ in done})
    print(f"| {model} | {polytope} | {', '.join(map(str, epochs))} | {cells[0]} | {cells[1]} | {diff} |")
if pending:
    print(f"\nNot finished: {', '.join(pending)}.")
