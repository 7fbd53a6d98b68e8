#!/usr/bin/env bash
# RESULTS.md from runs, never from typed-in numbers: `reponet reproduce` trains what is not
# finished yet of the paper's grid (finished runs of the same setting are kept) and writes
# its report; the studies beyond the grid are included when their reports exist
# (scripts/epoch-study.sh, scripts/stationarity.sh, scripts/unseen.sh write them). Each part
# is its prose from docs/results-*.md followed by tables and figures copied from a report
# (figures into docs/results/).
#
#   scripts/results.sh [EPOCHS]                 default 3; full MNIST from $REPONET_DATA (default ~/.cache/reponet)
#   DATA=~/data OUT=runs/paper EXPERIMENTS=fig2,fig4,fig5,fig6 scripts/results.sh 10
#   ASSEMBLE_ONLY=1 scripts/results.sh          the page again, from the existing reports
source "$(dirname "$0")/common.sh"
epochs=${1:-3}
data=${DATA:-${REPONET_DATA:-$HOME/.cache/reponet}}
out=${OUT:-runs/reproduce}
# ASSEMBLE_ONLY=1: only put the page together again from the reports already written.
if [ -z "${ASSEMBLE_ONLY:-}" ]; then
    "$reponet" reproduce --experiments "${EXPERIMENTS:-fig2,fig4}" --epochs "$epochs" \
        --data-dir "$data" --out "$out"
fi
python3 - "$out/report" <<'PY'
import os, re, shutil, sys

def sections(report_md):
    """The report's '## ' sections as (title, body) pairs, in order."""
    parts = re.split(r"^## (.+)$", open(report_md).read(), flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))

def figures(body, report_dir, prefix):
    """Copy the PNGs body links to into docs/results/ (names prefixed) and relink them."""
    def relink(m):
        name = prefix + m.group(1)
        shutil.copy(os.path.join(report_dir, m.group(1)), os.path.join("docs/results", name))
        return f"](docs/results/{name})"
    return re.sub(r"\]\(([^)/]+\.png)\)", relink, body)

os.makedirs("docs/results", exist_ok=True)
grid = sys.argv[1]
page = [open("docs/results-intro.md").read().rstrip() + "\n"]
# (report folder, prose, title prefixes of the sections to take, figure name prefix)
studies = [
    ("runs/epoch-study/report", "docs/results-epochs.md",
     ("Accuracy", "Test accuracy after each epoch", "Class-mean drift"), "epochs-"),
    ("runs/stationarity/report", "docs/results-stationarity.md",
     ("Accuracy", "Feature geometry", "Class-mean drift", "Test accuracy after each epoch"),
     "stationarity-"),
    ("runs/unseen/report", "docs/results-unseen.md", ("Unseen classes over seeds",),
     "unseen-"),
]
for report, prose, wanted, prefix in studies:
    md = os.path.join(report, "report.md")
    if not (os.path.exists(md) and os.path.exists(prose)):
        print(f"leaving out {prose}: no {md} (run its script first)")
        continue
    page.append(open(prose).read().rstrip() + "\n")
    for title, body in sections(md):
        if title.startswith(wanted):
            page.append(f"### {title}\n\n" + figures(body, report, prefix).strip() + "\n")


def whole(report_dir, heading, prefix, level):
    """A report's body under a heading of `level`, its own headings below that."""
    body = open(os.path.join(report_dir, "report.md")).read().replace("# reponet report\n", "", 1)
    body = re.sub(r"^(#+) ", lambda m: "#" * (level - 1) + m.group(1) + " ", body, flags=re.M)
    return "#" * level + f" {heading}\n" + figures(body, report_dir, prefix)

page.append(whole(grid, "The paper's grid: `reponet reproduce`'s report", "", 2))
# fig5 and fig6 on Fashion-MNIST where EMNIST is missing (`reponet reproduce --experiments
# fig5,fig6 --out runs/standin`).
standin = os.environ.get("STANDIN", "runs/standin/report")
if os.path.exists(os.path.join(standin, "report.md")) and os.path.exists("docs/results-standin.md"):
    page.append(open("docs/results-standin.md").read().rstrip() + "\n")
    page.append(whole(standin, "The stand-in's report", "standin-", 3))
tmp = "RESULTS.md.tmp"
open(tmp, "w").write("\n".join(page))
os.replace(tmp, "RESULTS.md")
PY
echo "wrote RESULTS.md and docs/results/"
