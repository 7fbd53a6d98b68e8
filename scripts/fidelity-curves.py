#!/usr/bin/env python3
"""The 30-epoch study's curves (issue 20) as an SVG, from the runs' metrics alone: test
accuracy after every epoch for the fixed and the learnable simplex at the paper's constant
rate and, where those runs exist, with a cosine decay (ours, drawn thinner in a lighter
shade), the paper's two figures as dashed lines, and one standard error of a 10,000-image
accuracy as a scale bar.

  scripts/fidelity-curves.py [RESULTS_DIR] > results/fidelity/epochs30.svg
"""
import json
import math
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "results/fidelity"
runs = [("fixed", "#1f77b4", 99.45), ("learnable", "#d62728", 99.47)]
# (head, schedule) -> accuracy after each epoch; the constant-rate pair must exist.
curves = {}
for head, _, _ in runs:
    for schedule, prefix in [("constant", "epochs30"), ("cosine", "epochs30-cosine")]:
        path = os.path.join(root, f"{prefix}-simplex-{head}-seed0", "metrics.jsonl")
        if schedule == "constant" or os.path.isfile(path):
            curves[head, schedule] = [json.loads(line)["test_accuracy"] for line in open(path)]
LIGHTER = {"#1f77b4": "#6baed6", "#d62728": "#fc9272"}

W, H, left, right, top, bottom = 760, 420, 70, 170, 30, 50
y_lo, y_hi = 97.0, 99.7
epochs = max(len(c) for c in curves.values())


def x(epoch):
    return left + (epoch - 1) / (epochs - 1) * (W - left - right)


def y(acc):
    return top + (y_hi - acc) / (y_hi - y_lo) * (H - top - bottom)


out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
       f'font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>']
for tick in [97.0, 97.5, 98.0, 98.5, 99.0, 99.5]:
    out.append(f'<line x1="{left}" x2="{W - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
               f'stroke="#ddd"/>')
    out.append(f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.1f}</text>')
for e in range(1, epochs + 1):
    if e == 1 or e % 5 == 0:
        out.append(f'<text x="{x(e):.1f}" y="{H - bottom + 18}" text-anchor="middle">{e}</text>')
out.append(f'<text x="{(left + W - right) / 2}" y="{H - 12}" text-anchor="middle">epoch</text>')
out.append(f'<text x="18" y="{(top + H - bottom) / 2}" text-anchor="middle" '
           f'transform="rotate(-90 18 {(top + H - bottom) / 2})">test accuracy, %</text>')
out.append(f'<rect x="{left}" y="{top}" width="{W - left - right}" height="{H - top - bottom}" '
           f'fill="none" stroke="#333"/>')
legend = []  # (colour, stroke width, dashes, label)
for head, colour, paper in runs:
    for (h, schedule), curve in curves.items():
        if h != head:
            continue
        shade, width = (colour, 2) if schedule == "constant" else (LIGHTER[colour], 1.5)
        points = " ".join(f"{x(e + 1):.1f},{y(a):.1f}" for e, a in enumerate(curve))
        out.append(f'<polyline points="{points}" fill="none" stroke="{shade}" stroke-width="{width}"/>')
        label = head if len(curves) == 2 else f"{head}, {schedule}"
        legend.append((shade, width, None, label))
    out.append(f'<line x1="{left}" x2="{W - right}" y1="{y(paper):.1f}" y2="{y(paper):.1f}" '
               f'stroke="{colour}" stroke-dasharray="6 4"/>')
    legend.append((colour, 1, "6 4", f"paper {paper}"))
for i, (colour, width, dashes, label) in enumerate(legend):
    ly = top + 20 + 20 * i
    dash = f' stroke-dasharray="{dashes}"' if dashes else ""
    out.append(f'<line x1="{W - right + 12}" x2="{W - right + 40}" y1="{ly}" y2="{ly}" '
               f'stroke="{colour}" stroke-width="{width}"{dash}/>')
    out.append(f'<text x="{W - right + 46}" y="{ly + 4}">{label}</text>')
# One standard error of a 10,000-image accuracy near 99.3 %.
se = 100 * math.sqrt(0.993 * 0.007 / 10000)
bx, by = W - right + 20, top + 30 + 20 * len(legend)
out.append(f'<line x1="{bx}" x2="{bx}" y1="{by}" y2="{by + se / (y_hi - y_lo) * (H - top - bottom):.1f}" '
           f'stroke="#333" stroke-width="3"/>')
out.append(f'<text x="{bx + 8}" y="{by + 10}">1 SE ({se:.2f})</text>')
out.append("</svg>")
print("\n".join(out))
