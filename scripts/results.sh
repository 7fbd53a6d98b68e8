#!/usr/bin/env bash
# RESULTS.md from the paper's grid as reponet ran it: `reponet reproduce` trains what is not
# finished yet (finished runs of the same setting are kept), writes its report, and this
# script puts that report, its figures (docs/results/) and the prose of
# docs/results-intro.md together. Every number in RESULTS.md's tables comes from the report.
#
#   scripts/results.sh [EPOCHS]                 default 3; full MNIST from ../shared/data
#   DATA=~/data OUT=runs/paper scripts/results.sh 10
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-3}
data=${DATA:-../shared/data}
out=${OUT:-runs/reproduce}
reponet=${REPONET:-target/release/reponet}
if [ "$reponet" = target/release/reponet ]; then
    cargo build --release -p reponet-cli
fi
"$reponet" reproduce --experiments "${EXPERIMENTS:-fig2,fig4}" --epochs "$epochs" \
    --data-dir "$data" --out "$out"
python3 - "$out/report" <<'PY'
import os, re, shutil, sys
report = sys.argv[1]
os.makedirs("docs/results", exist_ok=True)
for name in os.listdir(report):
    if name.endswith(".png"):
        shutil.copy(os.path.join(report, name), os.path.join("docs/results", name))
body = open(os.path.join(report, "report.md")).read()
body = body.replace("# reponet report\n", "", 1)
body = re.sub(r"\]\(([^)/]+\.png)\)", r"](docs/results/\1)", body)
intro = open("docs/results-intro.md").read()
tmp = "RESULTS.md.tmp"
open(tmp, "w").write(intro.rstrip() + "\n\n" + body.lstrip())
os.replace(tmp, "RESULTS.md")
PY
echo "wrote RESULTS.md and docs/results/"
