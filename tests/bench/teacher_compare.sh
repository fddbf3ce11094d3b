#!/bin/sh
# Downstream comparison of teachers: trains the default model (fast eval, then exact eval of the same model) on
# the synthetic parts (300 steps) and on both shared real datasets (1000 steps), seed 42, penalty images on.
# Usage: tests/bench/teacher_compare.sh CLI SHARED_DATA_DIR OUT_DIR TEACHER [DATASET...]
#   TEACHER: shipped, random or a teacher file; DATASET: synth, battery_weld, magnetic_tile (default: all three).
#   EXACT=0 skips the exact evaluations (a third of the time on magnetic_tile).
# Prints one line per run: dataset, mode, image AUROC / pixel AUROC / AU-PRO@30 / AU-PRO@5, false alarms and
# defective images found at the model's threshold, seconds for training + fast evaluation.
set -eu
if [ $# -lt 4 ]; then
  echo "usage: $0 CLI SHARED_DATA_DIR OUT_DIR TEACHER [synth|battery_weld|magnetic_tile ...]" >&2
  exit 2
fi
cli=$1 shared=$2 out=$3 teacher=$4
shift 4
[ $# -gt 0 ] || set -- synth battery_weld magnetic_tile
mkdir -p "$out"
for dataset in "$@"; do
  case $dataset in
    synth) steps=300 data=$out/synth-data
           [ -d "$data" ] || "$cli" synth --output "$data" > "$out/synth.log" ;;
    battery_weld|magnetic_tile) steps=1000 data=$shared/datasets/$dataset ;;
    *) echo "unknown dataset '$dataset' (synth, battery_weld, magnetic_tile)" >&2; exit 2 ;;
  esac
  start=$(date +%s)
  "$cli" eval --data "$data" --steps $steps --teacher "$teacher" --seed 42 \
      --penalty-images "$shared/natural_images/imagenet_samples" --output "$out/$dataset" > "$out/$dataset.log" 2>&1
  fast_seconds=$(( $(date +%s) - start ))
  modes=fast
  if [ "${EXACT:-1}" != 0 ]; then
    modes="fast exact"
    "$cli" eval --data "$data" --model "$out/$dataset/model.efad" --mode exact --output "$out/$dataset/exact" \
        > "$out/$dataset-exact.log" 2>&1
  fi
  for mode in $modes; do
    log=$out/$dataset.log
    [ $mode = exact ] && log=$out/$dataset-exact.log
    awk -v d="$dataset" -v m="$mode" -v s="$fast_seconds" '$1 == "overall" {
      print d " " m ": " $6 " / " $8 " / " $9 " / " $10 ", alarms " $4 ", found " $5 " (train + fast eval " s " s)" }' "$log"
  done
done
