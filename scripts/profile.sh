#!/usr/bin/env bash
# Where a LeNet++ train step's CPU time goes: `perf record` (software clock sampling, which
# works where hardware counters are not exposed) around `reponet bench`, then the samples'
# own symbols grouped into the kernels that matter. Proportions of the process's own CPU
# time, so they hold even on a busy machine; the step time it prints does not.
#
#   scripts/profile.sh [PHASE:BATCH]            default train:512; needs perf (linux-perf)
#   REPONET_CONV=burn scripts/profile.sh        the same on Burn's convolutions
source "$(dirname "$0")/common.sh"
phase=${1:-train:512}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
perf record -q -F 499 -o "$data/perf.data" "$reponet" bench --phases "$phase" --steps 5 --warmup 1
perf report -i "$data/perf.data" --no-children --sort symbol --stdio 2>/dev/null \
    | python3 -c '
import re, sys
groups = [
    ("Winograd input transforms, B^T d B (reponet)", r"winograd::transform_input|bt_rows"),
    ("Winograd output and gradient transforms, A^T m A and A dy A^T (reponet)", r"winograd::transform_(output|grad)"),
    ("Winograd kernel transforms (reponet)", r"winograd::(transform_weights|weights_from)"),
    ("GEMM micro-kernels and packing (gemm crate)", r"gemm_|imp_fastcall"),
    ("reponet loops around them: epilogue (bias, PReLU, pooling), gradient gather, im2col of layer 1 (inlined)", r"epilogue|gather_grad|conv2d_backward|conv2d_forward"),
    ("im2col and col2im (reponet)", r"im2col|col2im"),
    ("fresh pages zeroed by the kernel, memset", r"clear_page|folio_zero|memset"),
    ("copies (memmove)", r"copy_2d|memmove|memcpy"),
    ("Burn flex kernels (its convolutions, pooling, element-wise closures)", r"burn_flex|conv3d|conv_transpose|mask_where|call_mut"),
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
