#!/bin/sh
# The ONNX Runtime peer benchmark (issue "CPU speed"): exports each model file's own networks to ONNX (Debian's
# python3-torch), then times ONNX Runtime 1.30 CPU fp32 (npm onnxruntime-node) and `efficientad bench` (exact and
# fast) in turns, ROUNDS times, and prints each round's ratios and their medians. Not a pass/fail test.
#
# usage: tests/bench/peer/onnx_peer.sh EFFICIENTAD_CLI MODEL [MODEL ...]
#   ROUNDS (default 5), ITERATIONS per contender and round (default 10), THREADS (default 2);
#   BUSY=1 keeps the last core busy with another process all along (shared cores).
# Needs node and npm (Debian packages); onnxruntime-node is installed into ~/.cache/efficientad on first use
# (--ignore-scripts: its install script only fetches GPU libraries; the CPU library ships in the package).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cli=${1:?usage: onnx_peer.sh EFFICIENTAD_CLI MODEL [MODEL ...]}
shift
[ $# -ge 1 ] || { echo "usage: onnx_peer.sh EFFICIENTAD_CLI MODEL [MODEL ...]" >&2; exit 2; }
rounds=${ROUNDS:-5} iterations=${ITERATIONS:-10} threads=${THREADS:-2}
ort_dir=${XDG_CACHE_HOME:-$HOME/.cache}/efficientad/onnxruntime-node-1.30.0
if [ ! -f "$ort_dir/node_modules/onnxruntime-node/package.json" ]; then
  command -v npm >/dev/null || { echo "npm not found: apt-get install npm" >&2; exit 1; }
  mkdir -p "$ort_dir"
  (cd "$ort_dir" && npm install --silent --no-audit --no-fund --ignore-scripts onnxruntime-node@1.30.0)
fi
work=$(mktemp -d)
busy=
cleanup() { [ -z "$busy" ] || kill "$busy" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM
if [ "${BUSY:-0}" = 1 ]; then
  last_core=$(($(nproc) - 1))
  taskset -c "$last_core" sh -c 'while :; do :; done' &
  busy=$!
  echo "core $last_core kept busy by another process (pid $busy)"
fi

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Mean milliseconds of the row of `efficientad bench` output ($1) whose name starts with $2.
row_ms() { awk -v name="$2" 'index($0, "  " name) == 1 { for (i = 1; i <= NF; ++i) if ($(i + 1) == "ms") { print $i; exit } }' "$1"; }

for model in "$@"; do
  out="$work/$(basename "$model" .efad)"
  mkdir -p "$out"
  /usr/bin/python3 "$here/export_onnx.py" "$model" "$out" >"$out/export.log" 2>&1 || { cat "$out/export.log" >&2; exit 1; }
  echo "model $model, $threads threads, batch 1, $rounds rounds of $iterations runs each"
  printf '  %-5s %12s %12s %12s %10s %10s\n' round "ORT fp32" exact fast exact/ORT fast/ORT
  : > "$out/ratios"
  r=1
  while [ $r -le "$rounds" ]; do
    ort=$(NODE_PATH="$ort_dir/node_modules" node "$here/ort_time.js" "$out" "$iterations" 3 "$threads")
    "$cli" bench --model "$model" --iterations "$iterations" --warmup 3 --train-steps 0 --threads "$threads" > "$out/bench.txt" 2>/dev/null
    ort_ms=$(echo "$ort" | awk '{ print $4 }')
    exact_ms=$(row_ms "$out/bench.txt" "exact (")
    fast_ms=$(row_ms "$out/bench.txt" "fast (")
    echo "$exact_ms $fast_ms $ort_ms" | awk -v r=$r '{ printf "  %-5d %9.1f ms %9.1f ms %9.1f ms %9.2fx %9.2fx\n", r, $3, $1, $2, $1 / $3, $2 / $3 }'
    echo "$exact_ms $fast_ms $ort_ms" | awk '{ print $1 / $3, $2 / $3 }' >> "$out/ratios"
    [ $r -gt 1 ] || echo "  (ONNX Runtime's map vs PyTorch's: ${ort##*pytorch })"
    r=$((r + 1))
  done
  echo "  median exact/ORT $(cut -d' ' -f1 "$out/ratios" | median)x, fast/ORT $(cut -d' ' -f2 "$out/ratios" | median)x"
  grep -E "^  (fast, not chosen|fast, float autoencoder|exact, direct)" "$out/bench.txt" | sed 's/^/  last round, also timed: /' || true
done
