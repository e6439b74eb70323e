#!/usr/bin/env bash
# Regenerate every golden file: first the synthetic vectors themselves
# (tests/vectors/gen_vectors.py), then, from tshark via derive.sh, one TSV per
# capture in ../shared/captures (relative to the project root) and per vector:
#   tests/golden/captures/<capture file name>.tsv
#   tests/golden/vectors/<vector file name>.tsv
# A file is empty when tshark finds no endpoint in it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
captures=$root/../shared/captures
golden=$root/tests/golden

/usr/bin/python3 "$root/tests/vectors/gen_vectors.py"

# Start from empty folders so that a capture or vector that is gone leaves no
# stale golden behind.
rm -rf "$golden/captures" "$golden/vectors"
mkdir -p "$golden/captures" "$golden/vectors"

for f in "$captures"/*; do
    [ "$(basename "$f")" = MANIFEST.md ] && continue
    "$golden/derive.sh" "$f" > "$golden/captures/$(basename "$f").tsv"
done
for f in "$root"/tests/vectors/*.pcap; do
    "$golden/derive.sh" "$f" > "$golden/vectors/$(basename "$f").tsv"
done
