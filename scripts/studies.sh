#!/usr/bin/env bash
# docs/studies.md, the studies beyond the paper, from their reports, never from typed-in
# numbers: each part is its prose (docs/studies-*.md) followed by tables and figures copied
# from the report its script wrote (figures into docs/studies/). The paper's own claims are
# RESULTS.md's (scripts/fidelity.sh, scripts/fidelity-tables.py).
#
#   scripts/stationarity.sh && scripts/unseen.sh && scripts/studies.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import os, re, shutil

def sections(report_md):
    """The report's '## ' sections as (title, body) pairs, in order."""
    parts = re.split(r"^## (.+)$", open(report_md).read(), flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))

def figures(body, report_dir, prefix):
    """Copy the PNGs body links to into docs/studies/ (names prefixed) and relink them."""
    def relink(m):
        name = prefix + m.group(1)
        shutil.copy(os.path.join(report_dir, m.group(1)), os.path.join("docs/studies", name))
        return f"](studies/{name})"
    return re.sub(r"\]\(([^)/]+\.png)\)", relink, body)

os.makedirs("docs/studies", exist_ok=True)
page = ["# Studies beyond the paper\n\nEach study is its script's runs and report, put together by "
        "`scripts/studies.sh`. The paper's own claims are in [RESULTS.md](../RESULTS.md).\n"]
# (report folder, prose, title prefixes of the sections to take, figure name prefix)
studies = [
    ("runs/stationarity/report", "docs/studies-stationarity.md",
     ("Accuracy", "Feature geometry", "Class-mean drift", "Test accuracy after each epoch"),
     "stationarity-"),
    ("runs/unseen/report", "docs/studies-unseen.md", ("Unseen classes over seeds",), "unseen-"),
]
for report, prose, wanted, prefix in studies:
    md = os.path.join(report, "report.md")
    if not os.path.exists(md):
        raise SystemExit(f"scripts/studies.sh: no {md}: run its script first")
    page.append(open(prose).read().rstrip() + "\n")
    for title, body in sections(md):
        if title.startswith(wanted):
            page.append(f"### {title}\n\n" + figures(body, report, prefix).strip() + "\n")
tmp = "docs/studies.md.tmp"
open(tmp, "w").write("\n".join(page))
os.replace(tmp, "docs/studies.md")
PY
echo "wrote docs/studies.md and docs/studies/"
