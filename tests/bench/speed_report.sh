#!/bin/sh
# Every figure of issue "CPU speed" in one run on this machine, one benchmark after the other (nothing else should
# run meanwhile), then a summary of each goal: met or missed. Not a pass/fail test: it always exits 0 once every
# part has run, and 1 when a part fails.
#
# usage: tests/bench/speed_report.sh BUILD_DIR [OUT_DIR]
#   BUILD_DIR: a meson build of this project (its CLI, and tests/bench_pipeline where GStreamer was found)
#   OUT_DIR:   where each part's full output goes (default: a new temporary folder, kept)
# Environment: ROUNDS (peer rounds, default 3), FRAMES (capture for the memory part, default 5000), SKIP (parts
# to leave out, e.g. "memory pipelines").
#
# Parts: the models (S and M, 20 steps on the synthetic parts: speed does not depend on the weights, the int8
# decoder needs the calibration a trained model carries), `bench` S and M (naive/exact/fast, the CPU's peak,
# training steps, core 1 kept busy), the ONNX Runtime peer (tests/bench/peer/onnx_peer.sh), the scaling table
# (sizes x batches), pipelines sharing the cores (bench_pipeline), training memory on FRAMES captured frames
# (tests/bench/training_memory.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: speed_report.sh BUILD_DIR [OUT_DIR]}
cli=$build/core/cli/efficientad
[ -x "$cli" ] || { echo "speed_report: no CLI at $cli (build the project first)" >&2; exit 1; }
out=${2:-$(mktemp -d)}
mkdir -p "$out"
skip=" ${SKIP:-} "
wanted() { case "$skip" in *" $1 "*) return 1 ;; *) return 0 ;; esac; }
part() { echo "== $1 ($(date -u +%H:%M:%S))"; }
# run_part NAME COMMAND...: runs COMMAND with its output in $out/NAME.txt, then shows it; stops at a failure.
run_part() {
  name=$1
  shift
  "$@" > "$out/$name.txt" 2>&1 || { cat "$out/$name.txt"; echo "speed_report: part '$name' failed" >&2; exit 1; }
  cat "$out/$name.txt"
}

part "machine"
{ lscpu | grep -E "^(Model name|CPU\(s\))"
  echo "int8/bf16 features: $(grep -o -w -E 'avx512_vnni|avx512_bf16|amx_int8|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"; } | tee "$out/machine.txt"

part "models (20 steps on the synthetic parts)"
"$cli" synth --output "$out/synth" --train 20 --test-good 1 --defects-per-kind 1 > /dev/null
for v in S M; do
  "$cli" train --data "$out/synth/train/good" --variant $v --steps 20 --quiet --output "$out/model_$v.efad" \
    > "$out/train_$v.txt" 2>&1 || { cat "$out/train_$v.txt" >&2; exit 1; }
done

if wanted bench; then
  part "bench: S and M, naive / exact / fast, training steps, core 1 busy"
  run_part bench "$cli" bench --variant S,M --iterations 10 --train-steps 3 --contention
fi
if wanted peer; then
  part "ONNX Runtime peer"
  run_part peer env ROUNDS="${ROUNDS:-3}" ITERATIONS=10 "$here/peer/onnx_peer.sh" "$cli" "$out/model_S.efad" \
    "$out/model_M.efad"
fi
if wanted scaling; then
  part "scaling: sizes and batches (fast, S)"
  run_part scaling "$cli" bench --fast-only --input-size 256,512,1024,400x256,256x296 --batch 1,4,16 \
    --iterations 3 --warmup 1 --train-steps 0
fi
if wanted pipelines; then
  part "pipelines sharing the cores"
  if [ -x "$build/tests/bench_pipeline" ]; then
    run_part pipelines env GST_PLUGIN_PATH="$build/gst" "$build/tests/bench_pipeline" 100 0
  else
    echo "not run: $build/tests/bench_pipeline is missing (a build without GStreamer)"
  fi
fi
if wanted memory; then
  part "training memory on ${FRAMES:-5000} frames"
  run_part memory env WORK="$out/memory" FRAMES="${FRAMES:-5000}" "$here/training_memory.sh" "$cli"
  rm -rf "$out/memory/frames"
fi

part "summary (goals of issue \"CPU speed\")"
# row NAME ms|%|x|diff VARIANT: one figure of the `bench` row that starts with "  NAME" in VARIANT's block (S, M).
row() {
  [ -f "$out/bench.txt" ] || return 0
  awk -v name="$1" -v what="$2" -v variant="$3" '
    /^EfficientAD-/ { v = substr($1, 13, 1) }
    v != variant || index($0, "  " name) != 1 { next }
    { for (i = 2; i <= NF; ++i) {
        if (what == "ms" && $i == "ms") { print $(i - 1); exit }
        if (what == "%" && $i == "%" && $(i + 2) == "peak") { print $(i - 1); exit }
        if (what == "diff" && $i == "naive") { print $(i + 1); exit }
        if (what == "x" && $i ~ /^[0-9.]+x$/) { sub(/x$/, "", $i); print $i; exit }
      } }' "$out/bench.txt"
}
verdict() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { if (a == "") { print "not measured"; exit }
  ok = op == "<=" ? a + 0 <= b + 0 : a + 0 >= b + 0; print ok ? "met" : "missed" }'; }
{
  for v in S M; do
    peer=$(grep -A99 "model_$v.efad" "$out/peer.txt" 2>/dev/null | grep -m1 "median exact/ORT" || true)
    exact_ort=$(echo "$peer" | sed -n 's/.*exact\/ORT \([0-9.]*\)x.*/\1/p')
    fast_ort=$(echo "$peer" | sed -n 's/.*fast\/ORT \([0-9.]*\)x.*/\1/p')
    echo "$v: exact / ONNX Runtime fp32 ${exact_ort:-?}x (goal <= 0.9x: $(verdict "$exact_ort" "<=" 0.9));" \
      "fast / ONNX Runtime ${fast_ort:-?}x (goal <= 0.3x: $(verdict "$fast_ort" "<=" 0.3))"
    diff=$(row "exact (" diff "$v")
    echo "$v: exact map vs naive ${diff:-?} (goal <= 1e-4: $(verdict "$diff" "<=" 0.0001))"
    share=$(row "fast (" "%" "$v")
    echo "$v: fast at ${share:-?} % of the measured peak for its dtypes (goal >= 80 %: $(verdict "$share" ">=" 80))"
    step=$(row "fast step (" x "$v")
    echo "$v: fast training step ${step:-?}x the naive step (goal <= 0.25x: $(verdict "$step" "<=" 0.25))"
    busy=$(row "fast, threads 0" x "$v")
    adaptive_ms=$(row "fast, threads 0" ms "$v")
    one_ms=$(row "fast, 1 thread" ms "$v")
    slower=$(awk -v a="$adaptive_ms" -v b="$one_ms" 'BEGIN { if (a != "" && b != "") printf "%.2f\n", a / b }')
    echo "$v: core 1 busy, default threads ${busy:-?}x quiet (goal <= 1.5x: $(verdict "$busy" "<=" 1.5))," \
      "${slower:-?}x the 1-thread time (goal <= 1: $(verdict "$slower" "<=" 1))"
  done
  mem=$(sed -n 's/.*peak resident \([0-9]*\) MB.*/\1/p' "$out/memory.txt" 2>/dev/null || true)
  echo "training on ${FRAMES:-5000} frames (--cache-mb 2048): peak resident ${mem:-?} MB" \
    "(stated limit 2048 + 1024 MB: $(verdict "$mem" "<=" 3072))"
  echo "full outputs: $out"
} | tee "$out/summary.txt"
