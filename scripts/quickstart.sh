#!/usr/bin/env bash
# Build reponet, find (or download) MNIST, train the paper's recipe, and evaluate it.
#
#   scripts/quickstart.sh           full MNIST, 3 epochs (about 30 minutes on 2 CPU cores)
#   scripts/quickstart.sh --quick   5,000 images, 1 epoch (about a minute): a first look only
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${REPONET_DATA:-data/mnist}
FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"

cargo build --release -p reponet-cli
BIN=target/release/reponet

have_mnist() { for f in $FILES; do [ -f "$1/$f" ] || [ -f "$1/$f.gz" ] || return 1; done; }

if ! have_mnist "$DATA"; then
  if have_mnist ../shared/data/mnist; then
    DATA=../shared/data/mnist
  else
    echo "MNIST not found in $DATA: downloading it there (about 11 MB)"
    mkdir -p "$DATA"
    for f in $FILES; do
      curl -fL --retry 3 -o "$DATA/$f.gz.part" "https://ossci-datasets.s3.amazonaws.com/mnist/$f.gz"
      mv "$DATA/$f.gz.part" "$DATA/$f.gz"
    done
  fi
fi
# The SHA-256 of each decompressed file (SPEC.md): a wrong file fails here, not mid-training.
sha256() { gzip -dcf "$1" | sha256sum | cut -d' ' -f1; }
while read -r f sum; do
  p="$DATA/$f"; [ -f "$p" ] || p="$p.gz"
  [ "$(sha256 "$p")" = "$sum" ] || { echo "error: $p does not match MNIST's checksum; delete it and rerun" >&2; exit 1; }
done <<'SUMS'
train-images-idx3-ubyte ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
train-labels-idx1-ubyte 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
t10k-images-idx3-ubyte 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
t10k-labels-idx1-ubyte ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
SUMS
echo "MNIST verified in $DATA"

if [ "${1:-}" = "--quick" ]; then
  OUT=runs/quickstart-quick
  "$BIN" train --data-dir "$DATA" --out "$OUT" --force --limit-train 5000 --limit-test 2000 --epochs 1 --batch-size 64 --polytope orthoplex
else
  OUT=runs/quickstart
  "$BIN" train --data-dir "$DATA" --out "$OUT" --force
fi
"$BIN" eval "$OUT"
