#!/usr/bin/env bash
# Build reponet, train and evaluate.
#
#   scripts/quickstart.sh          `reponet demo`: on the built-in MNIST sample (8,000 train /
#                                  2,000 test digits, no download), a fixed and a learnable
#                                  orthoplex head, compared in a report: 1 to 2 minutes on
#                                  2 CPU cores
#   scripts/quickstart.sh --full   full MNIST (fetched and verified first), the paper's recipe,
#                                  3 epochs: 10 to 20 minutes on 2 CPU cores
#
# Both build first: about 13 minutes on 2 cores from an empty cargo cache (Burn compiles),
# seconds after that. `cargo install --path crates/reponet-cli` puts `reponet` on the PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p reponet-cli
BIN=target/release/reponet

if [ "${1:-}" = "--full" ]; then
  DATA=()
  # Downloaded once into $REPONET_DATA or the cache directory; present files are verified,
  # not downloaded again.
  "$BIN" data fetch mnist
  "$BIN" data verify mnist "${DATA[@]}"
  OUT=runs/quickstart
  "$BIN" train --dataset mnist "${DATA[@]}" --epochs 3 --out "$OUT" --force
  "$BIN" eval "$OUT"
  "$BIN" plot "$OUT" --out "$OUT/features.png"
  echo "open $OUT/features.png: the test features, one colour per class, on the simplex's vertices"
else
  "$BIN" demo --out runs/demo
fi
