#!/usr/bin/env python3
"""Tables of the paper's claims at convergence (issue 20) from the finished runs of
scripts/fidelity.sh, never from typed-in numbers.

Reads results/fidelity/*/ (config.json, metrics.jsonl, summary.json, eval.json; runs without
summary.json are unfinished and left out). Sections:

  epochs30   the 30-epoch simplex pair: accuracy after every epoch, plateau means, drift
  cosine     the same pair with a cosine learning-rate decay (ours, not the paper's recipe)
  fig4       margin loss, fixed vs learnable, test accuracy per seed, mean ± sample sd
  diff       fixed − learnable per polytope with its standard error, and whether it is real
  geometry   the features' separation and compactness (test set), mean over seeds
  fig2       softmax loss, and the simplex without the margin warm-up, seed 0
  times      how long the finished runs trained, by network
  resnet     the ResNet study (fidelity.sh resnet): resnet20 and LeNet++ on Fashion-MNIST,
             simplex and cube, fixed − learnable per network and polytope over seeds
  resnet_curves  its mean test accuracy after each epoch
  resnet_geometry  its test features' geometry and worst class, by head
  resnet_loss    its resnet20 simplex pair, seed 0, with the margin and the softmax loss
  standin    Fig. 5's setting on Fashion-MNIST (a stand-in for EMNIST balanced)

  scripts/fidelity-tables.py [RESULTS_DIR] > results/fidelity/grid.md   every section
  scripts/fidelity-tables.py --fill RESULTS.md [RESULTS_DIR]
      replaces the text between each `<!-- table: SECTION -->` and `<!-- /table -->` in the
      file by that section (written to a temporary file, then renamed)

The difference's uncertainty: with n seeds per head, the standard error of a difference of
means is sqrt(sd_f^2 / n_f + sd_l^2 / n_l) (seed-to-seed spread, which includes the
test-set noise of about 0.1 point per run). A difference is called real when Welch's t test
rejects "no difference" at 5 % (two-sided): |difference| / standard error above Student's
t quantile at Welch's degrees of freedom, rounded down (with 3 seeds a head, about 2.8, not
the normal 1.96). With one seed per head only the binomial test-set error of each accuracy,
sqrt(p (1 - p) / n), is known; the table then uses 1.96 and says so.
"""
import json
import math
import os
import re
import statistics
import sys

POLYTOPES = ["simplex", "orthoplex", "cube"]
# Student's t, two-sided 5 % (the 0.975 quantile), by degrees of freedom; between two
# entries the smaller df's (the larger, more cautious quantile) is taken.
T_975 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26,
         10: 2.23, 12: 2.18, 15: 2.13, 20: 2.09, 30: 2.04, 60: 2.00, 120: 1.98}
# The paper's MNIST numbers (SPEC.md): Fig. 4's text gives the simplex's pair only.
PAPER_FIG4 = {"simplex": (99.45, 99.47)}
# The angle between neighbouring vertices used by 10 classes: arccos(-1/9), the orthoplex's
# 90, and 60 for the 4-cube's first 10 vertices (some pairs differ in one coordinate of 4).
VERTEX_ANGLE = {"simplex": math.degrees(math.acos(-1 / 9)), "orthoplex": 90.0, "cube": 60.0}


def finished(root, name):
    d = os.path.join(root, name)
    if not os.path.isfile(os.path.join(d, "summary.json")):
        return None
    metrics = [json.loads(line) for line in open(os.path.join(d, "metrics.jsonl"))]
    run = {"accuracy": json.load(open(os.path.join(d, "summary.json")))["final_test_accuracy"],
           "curve": [m["test_accuracy"] for m in metrics],
           "train_curve": [m["train_accuracy"] for m in metrics],
           # mean over classes of the angle each class mean moved in the epoch (from epoch 2)
           "drift": [statistics.fmean(m["class_mean_drift_degrees"]) for m in metrics
                     if m.get("class_mean_drift_degrees")],
           "epoch_seconds": [m["train_seconds"] for m in metrics],
           "model": json.load(open(os.path.join(d, "config.json")))["request"].get("model", "lenet++"),
           "train_images": metrics[-1]["train_images"], "test_images": metrics[-1]["test_images"],
           "eval": None}
    evaluation = os.path.join(d, "eval.json")
    if os.path.isfile(evaluation):
        run["eval"] = json.load(open(evaluation))
        run["accuracy"] = run["eval"]["accuracy"]
    return run


def t_975(df):
    return T_975[max(k for k in T_975 if k <= max(df, 1))]


def binomial_se(p, n):
    return 100 * math.sqrt(p / 100 * (1 - p / 100) / n)


def mean_sd(values):
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def fmt(values, digits=2):
    mean, sd = mean_sd(values)
    return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if sd is not None else "")


class Runs:
    """Every finished run under root, each read once; fig4's by polytope, head and seed, and
    the ResNet study's by network, polytope, head and seed."""

    def __init__(self, root):
        names = sorted(os.listdir(root)) if os.path.isdir(root) else []
        self.finished = {n: run for n in names if (run := finished(root, n))}
        self.unfinished = [n for n in names if n not in self.finished
                           and os.path.isfile(os.path.join(root, n, "config.json"))]
        self.grid = {}  # (polytope, head) -> {seed: run}
        self.resnet = {}  # (network, polytope) -> {head: {seed: run}}
        for name, run in self.finished.items():
            m = re.fullmatch(r"fig4-(simplex|orthoplex|cube)-(fixed|learnable)-seed(\d+)", name)
            if m:
                self.grid.setdefault((m[1], m[2]), {})[int(m[3])] = run
            m = re.fullmatch(r"resnet-fashion-(.+)-(simplex|orthoplex|cube)-(fixed|learnable)-seed(\d+)", name)
            if m:
                self.resnet.setdefault((m[1], m[2]), {}).setdefault(m[3], {})[int(m[4])] = run

    def run(self, name):
        return self.finished.get(name)


def curves_by_five(out, f, l):
    """Rows of five epochs' test accuracy, fixed then learnable."""
    for start in range(0, max(len(f), len(l)), 5):
        cells = [" ".join(f"{a:.2f}" for a in c[start:start + 5]) for c in (f, l)]
        out.append(f"| {start + 1}-{min(start + 5, len(f))} | {cells[0]} | {cells[1]} |")


def best(curve):
    top = max(curve)
    return f"{top:.2f} (epoch {', '.join(str(i + 1) for i, a in enumerate(curve) if a == top)})"


def simplex_pair(runs, prefix):
    pair = {h: runs.run(f"{prefix}-simplex-{h}-seed0") for h in ["fixed", "learnable"]}
    return pair if all(pair.values()) else None


def epochs30(runs):
    pair = simplex_pair(runs, "epochs30")
    if not pair:
        return "Not finished yet.\n"
    f, l = pair["fixed"]["curve"], pair["learnable"]["curve"]
    out = ["| epochs | fixed | learnable |", "|---|---|---|"]
    curves_by_five(out, f, l)

    def row(label, pick):
        out.append(f"| {label} | {pick(f)} | {pick(l)} |")

    row("mean ± sd of 11-20", lambda c: fmt(c[10:20]))
    row("mean ± sd of 21-30", lambda c: fmt(c[20:30]))
    row("best", best)
    row(f"after {len(f)}", lambda c: f"{c[-1]:.2f}")
    out.append(f"| paper | {PAPER_FIG4['simplex'][0]} | {PAPER_FIG4['simplex'][1]} |")
    out.append("")
    out.append("Mean angle (degrees) the class means moved during each epoch (epoch 2 on):\n")
    out.append("| epochs | fixed | learnable |")
    out.append("|---|---|---|")
    fd, ld = pair["fixed"]["drift"], pair["learnable"]["drift"]
    for start in range(0, len(fd), 10):
        cells = [" ".join(f"{a:.2f}" for a in c[start:start + 10]) for c in (fd, ld)]
        out.append(f"| {start + 2}-{min(start + 11, len(fd) + 1)} | {cells[0]} | {cells[1]} |")
    out.append(f"| mean of 21-30 | {statistics.fmean(fd[19:29]):.2f} | {statistics.fmean(ld[19:29]):.2f} |")
    return "\n".join(out) + "\n"


def cosine(runs):
    """The same pair with the learning rate decayed to zero along a cosine (step by step),
    beside the constant rate's plateau. Over the last five of 30 epochs the rate falls from
    (1 + cos(25/30 pi)) / 2 = 6.7 % of its start to zero: the decayed plateau."""
    pair = simplex_pair(runs, "epochs30-cosine")
    if not pair:
        return "Not finished yet.\n"
    constant = simplex_pair(runs, "epochs30")
    f, l = pair["fixed"]["curve"], pair["learnable"]["curve"]
    out = ["| epochs | fixed | learnable |", "|---|---|---|"]
    curves_by_five(out, f, l)

    def row(label, pick, pair=pair):
        out.append(f"| {label} | {pick(pair['fixed']['curve'])} | {pick(pair['learnable']['curve'])} |")

    row("mean ± sd of 26-30", lambda c: fmt(c[25:30]))
    row("best", best)
    row(f"after {len(f)}", lambda c: f"{c[-1]:.2f}")
    if constant:
        row("constant rate: mean ± sd of 21-30", lambda c: fmt(c[20:30]), constant)
        row("constant rate: after 30", lambda c: f"{c[-1]:.2f}", constant)
    out.append(f"| paper (states no schedule or epoch count) | {PAPER_FIG4['simplex'][0]} | {PAPER_FIG4['simplex'][1]} |")
    n = pair["fixed"]["test_images"]
    out.append("")
    out.append(f"fixed − learnable after {len(f)} epochs: {f[-1] - l[-1]:+.2f} points "
               f"(± {math.hypot(binomial_se(f[-1], n), binomial_se(l[-1], n)):.2f}, the test-set "
               f"noise of the two accuracies; one seed); over epochs 26-30: "
               f"{statistics.fmean(f[25:30]) - statistics.fmean(l[25:30]):+.2f}.")
    return "\n".join(out) + "\n"


def fig4(runs):
    out = ["| polytope | head | seed 0 | seed 1 | seed 2 | mean ± sd | paper |",
           "|---|---|---|---|---|---|---|"]
    for polytope in POLYTOPES:
        for i, head in enumerate(["fixed", "learnable"]):
            seeds = runs.grid.get((polytope, head), {})
            cells = [f"{seeds[s]['accuracy']:.2f}" if s in seeds else "-" for s in range(3)]
            summary = fmt([r["accuracy"] for r in seeds.values()]) if seeds else "-"
            paper = PAPER_FIG4.get(polytope)
            out.append(f"| {polytope} | {head} | " + " | ".join(cells)
                       + f" | {summary} | {paper[i] if paper else 'figure only'} |")
    return "\n".join(out) + "\n"


def difference(f, l, test_images):
    """fixed − learnable of two lists of accuracies: the table cells from the difference on
    (the difference ± its standard error and its basis, abs(t), the 5 % threshold, real?)."""
    (mf, sf), (ml, sl) = mean_sd(f), mean_sd(l)
    if sf is not None and sl is not None:
        vf, vl = sf**2 / len(f), sl**2 / len(l)
        se = math.sqrt(vf + vl)
        df = int(se**4 / (vf**2 / (len(f) - 1) + vl**2 / (len(l) - 1)))
        critical, basis = t_975(df), f"seed spread, Welch df {df}"
    else:
        se = math.hypot(binomial_se(mf, test_images), binomial_se(ml, test_images))
        critical, basis = 1.96, "test-set noise only"
    verdict = "yes" if abs(mf - ml) > critical * se else "no"
    return (f"{mf - ml:+.2f} ± {se:.2f} ({basis}) | {abs(mf - ml) / se:.1f} | {critical:.2f} "
            f"| {verdict}")


def diff(runs):
    out = ["| polytope | seeds (fixed, learnable) | fixed − learnable (points) | abs(t) "
           "| 5 % threshold | real? |",
           "|---|---|---|---|---|---|"]
    for polytope in POLYTOPES:
        seeds = {h: list(runs.grid.get((polytope, h), {}).values()) for h in ("fixed", "learnable")}
        f, l = ([r["accuracy"] for r in seeds[h]] for h in ("fixed", "learnable"))
        if not f or not l:
            out.append(f"| {polytope} | {len(f)}, {len(l)} | - | - | - | not yet run |")
            continue
        out.append(f"| {polytope} | {len(f)}, {len(l)} | "
                   f"{difference(f, l, seeds['fixed'][0]['test_images'])} |")
    return "\n".join(out) + "\n"


def geometry(runs):
    out = ["| polytope | head | neighbouring vertices (deg) | min between class means (deg) "
           "| mean to class mean (deg) | mean to class weight (deg) | seeds far from their weights "
           "| compactness / separation | MAP@R (%) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for polytope in POLYTOPES:
        for head in ["fixed", "learnable"]:
            seeds = {s: r["eval"] for s, r in runs.grid.get((polytope, head), {}).items() if r["eval"]}
            if not seeds:
                continue
            evals = list(seeds.values())
            g = [e["geometry"] for e in evals]
            # Features whose mean angle to their own class weight exceeds 45 degrees: the
            # head classifies by the order of the cosines, not by pulling them onto weights.
            far = [f"{s} ({e['geometry']['mean_angle_to_class_weight']:.0f} deg)"
                   for s, e in sorted(seeds.items())
                   if e["geometry"]["mean_angle_to_class_weight"] > 45]
            cells = [fmt([x["min_angle_between_class_means"] for x in g], 1),
                     fmt([x["mean_angle_to_class_mean"] for x in g], 1),
                     fmt([x["mean_angle_to_class_weight"] for x in g], 1),
                     ", ".join(far) or "none",
                     fmt([x["compactness_to_separation"] for x in g], 3),
                     fmt([100 * e["retrieval"]["map_at_r"] for e in evals])]
            out.append(f"| {polytope} | {head} | {VERTEX_ANGLE[polytope]:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def fig2(runs):
    rows = [("fig2: softmax loss", p, runs.run(f"fig2-{p}-fixed-seed0")) for p in POLYTOPES]
    rows.append(("fig4 without margin warm-up", "simplex", runs.run("fig4-simplex-fixed-no-warmup-seed0")))
    rows.append(("fig4 with the 1-epoch warm-up", "simplex", runs.grid.get(("simplex", "fixed"), {}).get(0)))
    rows = [r for r in rows if r[2]]
    if not rows:
        return "Not finished yet.\n"
    out = ["| run | polytope (fixed) | test accuracy (%) | after each epoch (%) |",
           "|---|---|---|---|"]
    for what, polytope, run in rows:
        curve = " / ".join(f"{a:.2f}" for a in run["curve"])
        out.append(f"| {what} | {polytope} | {run['accuracy']:.2f} | {curve} |")
    return "\n".join(out) + "\n"


def standin(runs):
    pair = [(h, r) for h in ["fixed", "learnable"]
            if (r := runs.run(f"fig5-standin-fashion-cube-{h}-seed0"))]
    if not pair:
        return "Not finished yet.\n"
    out = ["| head | test accuracy (%) | after each epoch (%) | min between class means (deg) "
           "| mean to class mean (deg) | MAP@R (%) |", "|---|---|---|---|---|---|"]
    for head, run in pair:
        e = run["eval"]
        geometry = (f"{e['geometry']['min_angle_between_class_means']:.1f} | "
                    f"{e['geometry']['mean_angle_to_class_mean']:.1f} | "
                    f"{100 * e['retrieval']['map_at_r']:.2f}") if e else "- | - | -"
        curve = " / ".join(f"{a:.2f}" for a in run["curve"])
        out.append(f"| {head} | {run['accuracy']:.2f} | {curve} | {geometry} |")
    return "\n".join(out) + "\n"


def times(runs):
    by_model = {}  # (network, training images) -> runs
    for run in runs.finished.values():
        by_model.setdefault((run["model"], run["train_images"]), []).append(run)
    if not by_model:
        return "Not finished yet.\n"
    out = []
    for (model, images), done in sorted(by_model.items(), key=lambda item: (item[0][0] != "lenet++", item[0])):
        epochs = sorted(s for r in done for s in r["epoch_seconds"])
        hours = sum(epochs) / 3600
        out.append(f"{'LeNet++' if model == 'lenet++' else model}: {len(done)} finished runs, {len(epochs)} epochs, {hours:.1f} hours of "
                   f"training (evaluation after each epoch not counted). One epoch of {images:,} images: "
                   f"median {statistics.median(epochs):.0f} s, middle half {epochs[len(epochs) // 4]:.0f} "
                   f"to {epochs[3 * len(epochs) // 4]:.0f} s, longest {epochs[-1]:.0f} s.")
    out.append("Epochs that shared the cores with builds, or were paused, take longer; each run's "
               "`metrics.jsonl` has its own.")
    return "\n".join(out) + "\n"


def table_or_pending(out):
    """A table (header and rule, then rows), or the placeholder while it has no row."""
    return "\n".join(out) + "\n" if len(out) > 2 else "No run finished yet.\n"


def slashed(accuracies):
    return " / ".join(f"{a:.2f}" for a in accuracies)


def resnet(runs):
    """The fixed and the learnable head of a seed share the backbone's initial weights, the
    order of the images and the augmentation's draws (the head is drawn after the backbone),
    so beside Welch's unpaired test the table gives the mean of the per-seed differences with
    its standard error sd / sqrt(n), which leaves out what the seeds share."""
    if not runs.resnet:
        return "No run finished yet.\n"
    def by_seed(seeds):
        """Each seed's accuracy in seed order, then their mean ± sd."""
        values = [seeds[s]["accuracy"] for s in sorted(seeds)]
        each = slashed(values)
        return f"{each}: {fmt(values)}" if len(values) > 1 else each or "-"

    out = ["| network | polytope | epochs | fixed: test % by seed: mean ± sd | learnable | seeds "
           "| fixed − learnable (points) | abs(t) | 5 % threshold | real? | paired by seed (± s.e.) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for (model, polytope), heads in sorted(runs.resnet.items()):
        fixed, learnable = (heads.get(h, {}) for h in ("fixed", "learnable"))
        f, l = ([r["accuracy"] for r in seeds.values()] for seeds in (fixed, learnable))
        epochs = sorted({len(r["curve"]) for seeds in heads.values() for r in seeds.values()})
        cells = f"{by_seed(fixed)} | {by_seed(learnable)}"
        tail = difference(f, l, next(iter(fixed.values()))["test_images"]) if f and l else "- | - | - | -"
        paired = [fixed[s]["accuracy"] - learnable[s]["accuracy"] for s in fixed if s in learnable]
        if len(paired) > 1:
            mean, sd = mean_sd(paired)
            tail += f" | {mean:+.2f} ± {sd / math.sqrt(len(paired)):.2f} ({len(paired)})"
        else:
            tail += " | -"
        out.append(f"| {model} | {polytope} | {', '.join(map(str, epochs))} | {cells} "
                   f"| {len(f)}, {len(l)} | {tail} |")
    pending = [n for n in runs.unfinished if n.startswith("resnet-fashion-")]
    if pending:
        out.append(f"\nNot finished: {', '.join(pending)}.")
    return "\n".join(out) + "\n"


def resnet_curves(runs):
    """The mean over finished seeds of the test accuracy after each epoch: has the learnable
    head levelled off?"""
    out = ["| network | polytope | head | seeds | after each epoch (%) |", "|---|---|---|---|---|"]
    for (model, polytope), heads in sorted(runs.resnet.items()):
        for head in ("fixed", "learnable"):
            curves = [r["curve"] for r in heads.get(head, {}).values()]
            if curves:
                means = [statistics.fmean(c[e] for c in curves) for e in range(min(map(len, curves)))]
                out.append(f"| {model} | {polytope} | {head} | {len(curves)} | "
                           f"{slashed(means)} |")
    return table_or_pending(out)


def resnet_geometry(runs):
    """Why a head lands where it does: a class whose features are not pulled onto its weight
    (far from it, or near another class's mean) is the class the network gets wrong."""
    out = ["| network | polytope | head | seeds | min between class means (deg) "
           "| mean to class weight (deg) | worst class: accuracy % | MAP@R (%) |",
           "|---|---|---|---|---|---|---|---|"]
    for (model, polytope), heads in sorted(runs.resnet.items()):
        for head in ("fixed", "learnable"):
            evals = [r["eval"] for r in heads.get(head, {}).values() if r["eval"]]
            if not evals:
                continue
            g = [e["geometry"] for e in evals]
            worst = [min(e["per_class"], key=lambda c: c["accuracy"]) for e in evals]
            worst = ", ".join(f"{c['name']} {c['accuracy']:.1f}" for c in worst)
            out.append(f"| {model} | {polytope} | {head} | {len(evals)} "
                       f"| {fmt([x['min_angle_between_class_means'] for x in g], 1)} "
                       f"| {fmt([x['mean_angle_to_class_weight'] for x in g], 1)} | {worst} "
                       f"| {fmt([100 * e['retrieval']['map_at_r'] for e in evals])} |")
    return table_or_pending(out)


def resnet_loss(runs):
    """How much of the ResNet's distance to the literature is the margin: the resnet20 simplex
    pair of seed 0 with the margin loss (the study's) and with the softmax loss (Eq. 6, no
    margin), same recipe and epochs."""
    out = ["| loss | head | test % after each epoch | final test % | train % in the last epoch |",
           "|---|---|---|---|---|"]
    for loss, prefix in (("margin", "resnet-fashion"), ("softmax", "resnet-softmax")):
        for head in ("fixed", "learnable"):
            run = runs.run(f"{prefix}-resnet20-simplex-{head}-seed0")
            if run:
                out.append(f"| {loss} | {head} | {slashed(run['curve'])} "
                           f"| {run['accuracy']:.2f} | {run['train_curve'][-1]:.2f} |")
    return table_or_pending(out)


SECTIONS = {
    "epochs30": ("The 30-epoch simplex pair, test accuracy (%) after each epoch", epochs30),
    "cosine": ("The 30-epoch simplex pair with a cosine learning-rate decay (ours), test accuracy (%)", cosine),
    "fig4": ("fig4: margin loss, fixed vs learnable, test accuracy (%) per seed", fig4),
    "diff": ("fig4: fixed − learnable (mean over seeds ± one standard error; Welch's t test at 5 %)", diff),
    "geometry": ("fig4: feature geometry of the test set, mean ± sd over seeds", geometry),
    "fig2": ("fig2 (softmax loss) and the simplex without warm-up, seed 0", fig2),
    "times": ("Training time", times),
    "resnet": ("A fixed head as accurate as a learned one on a ResNet: Fashion-MNIST, resnet20 and LeNet++", resnet),
    "resnet_curves": ("The ResNet study, test accuracy after each epoch (mean over seeds)", resnet_curves),
    "resnet_geometry": ("The ResNet study: the test features' geometry (reponet eval)", resnet_geometry),
    "resnet_loss": ("The ResNet study's resnet20 simplex pair, seed 0: margin against softmax loss", resnet_loss),
    "standin": ("Fig. 5's setting (cube, margin loss) on Fashion-MNIST, a stand-in for EMNIST, seed 0", standin),
}


def fill(path, runs):
    text = open(path).read()

    def section(m):
        return f"{m[1]}\n{SECTIONS[m[2]][1](runs)}{m[3]}"

    text = re.sub(r"(<!-- table: (\w+) -->)\n.*?(<!-- /table -->)", section, text, flags=re.S)
    tmp = path + ".tmp"
    open(tmp, "w").write(text)
    os.replace(tmp, path)


def main(argv):
    if argv[:1] == ["--fill"]:
        fill(argv[1], Runs(argv[2] if len(argv) > 2 else "results/fidelity"))
        return
    runs = Runs(argv[0] if argv else "results/fidelity")
    print("# The paper's claims at convergence: tables (scripts/fidelity-tables.py)")
    for title, make in SECTIONS.values():
        print(f"\n## {title}\n\n{make(runs)}", end="")


main(sys.argv[1:])
