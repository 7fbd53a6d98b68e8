#!/usr/bin/env bash
# Where a LeNet++ train step's CPU time goes: `perf record` (software clock sampling, which
# works where hardware counters are not exposed) around `reponet bench`, then the samples'
# own symbols grouped into the kernels that matter. Proportions of the process's own CPU
# time, so they hold even on a busy machine; the step time it prints does not.
#
#   scripts/profile.sh [PHASE:BATCH]            default train:512; needs perf (linux-perf)
source "$(dirname "$0")/common.sh"
phase=${1:-train:512}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
perf record -q -F 499 -o "$data/perf.data" "$reponet" bench --phases "$phase" --steps 5 --warmup 1
perf report -i "$data/perf.data" --no-children --sort symbol --stdio 2>/dev/null \
    | python3 -c '
import re, sys
groups = [
    ("GEMM micro-kernels and packing (gemm crate)", r"gemm_|imp_fastcall"),
    ("fresh pages zeroed by the kernel, memset", r"clear_page|folio_zero|memset"),
    ("conv_transpose2d scatter loops (gradient w.r.t. x)", r"conv_transpose"),
    ("im2col and conv bookkeeping (conv3d_f32)", r"conv3d|conv2d"),
    ("mask_where (PReLU forward and backward)", r"mask_where"),
    ("closures called through &F (element-wise ops)", r"call_mut"),
    ("copies (copy_2d_tiled, memmove)", r"copy_2d|memmove|memcpy"),
    ("rayon scheduling", r"rayon"),
]
totals = {g: 0.0 for g, _ in groups}
other = 0.0
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+\[[.k]\]\s+(.*)", line)
    if not m:
        continue
    share, sym = float(m.group(1)), m.group(2)
    for g, pat in groups:
        if re.search(pat, sym):
            totals[g] += share
            break
    else:
        other += share
print("| where | share of CPU samples |")
print("|---|---|")
for g, _ in groups:
    print(f"| {g} | {totals[g]:.1f} % |")
print(f"| everything else | {other:.1f} % |")
'
