#!/bin/sh
# Peak resident memory of `efficientad train` on a large capture: renders FRAMES normal frames (default 5000) with
# `efficientad synth`, trains a few steps on them and prints the peak the CLI reports (getrusage). Pass a second
# CLI (e.g. an older build) to compare it on the same frames, in the same run.
#   tests/bench/training_memory.sh build/core/cli/efficientad [OTHER_CLI]
# Environment: FRAMES (5000), STEPS (10), CACHE_MB (2048, the default --cache-mb), WORK (a temporary folder).
set -eu
[ $# -ge 1 ] || { echo "usage: $0 CLI [OTHER_CLI]" >&2; exit 2; }
FRAMES=${FRAMES:-5000} STEPS=${STEPS:-10} CACHE_MB=${CACHE_MB:-2048}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
if [ ! -d "$WORK/frames/train/good" ] || [ "$(ls "$WORK/frames/train/good" | wc -l)" -ne "$FRAMES" ]; then
  rm -rf "$WORK/frames"
  "$1" synth --output "$WORK/frames" --train "$FRAMES" --test-good 1 --defects-per-kind 1 > /dev/null
fi
for cli in "$@"; do
  start=$(date +%s)
  /usr/bin/time -f "%M" -o "$WORK/rss.txt" "$cli" train --data "$WORK/frames/train/good" --steps "$STEPS" \
    --cache-mb "$CACHE_MB" --output "$WORK/model.efad" --quiet > "$WORK/train.txt" 2>&1 || { cat "$WORK/train.txt"; exit 1; }
  echo "$cli: $FRAMES frames, $STEPS steps, --cache-mb $CACHE_MB: peak resident $(( $(cat "$WORK/rss.txt") / 1024 )) MB," \
    "$(( $(date +%s) - start )) s"
done
