#!/bin/sh
# The main job on the project's own data: render machined parts with defects, train a small model on the good
# ones, score the test images and write heatmap PNGs. Needs a build in ./build (see README). About 4 minutes
# on two CPU cores.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
tool="$repo/build/core/cli/efficientad"
out=${1:-"$repo/demo"}
steps=${STEPS:-300}
[ -x "$tool" ] || { echo "build first: meson setup build && ninja -C build" >&2; exit 1; }

"$tool" synth --output "$out/data"
"$tool" train --data "$out/data/train/good" --output "$out/washer.efad" --steps "$steps"
"$tool" info "$out/washer.efad"
"$tool" infer --model "$out/washer.efad" --output "$out/heatmaps" "$out"/data/test/*
echo
echo "Heatmaps (image + colour-coded anomaly map, defects outlined): $out/heatmaps/*.png"
echo "Scores: $out/heatmaps/scores.csv"
