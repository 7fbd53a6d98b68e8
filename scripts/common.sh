# Sourced by the scripts here and under results/: stop at the first error, work from the
# repository root, and set $reponet to the binary to run: $REPONET if given, else
# target/release/reponet, built now.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
reponet=${REPONET:-target/release/reponet}
if [ "$reponet" = target/release/reponet ]; then
    cargo build --release -p reponet-cli
fi
