#!/usr/bin/env bash
# The SIGKILL benchmark (issue 23): a small training run killed with SIGKILL at KILLS random
# moments (start-up, steps, evaluations, checkpoint writes), resumed after each kill, must
# end bit for bit as the uninterrupted run. The test is crates/reponet-cli/tests/chaos.rs;
# CI runs it with 3 kills, this script with more, and prints where each kill landed.
#
#   scripts/chaos.sh                 25 kills, seed 1 (~4 minutes on 2 cores)
#   KILLS=50 SEED=7 scripts/chaos.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPONET_CHAOS_KILLS=${KILLS:-25} REPONET_CHAOS_SEED=${SEED:-1} \
    cargo test --release -p reponet-cli --test chaos -- --nocapture 2>&1 |
    grep -E '^(kill |[0-9]+ SIGKILLs|test |thread|.*panicked)'
