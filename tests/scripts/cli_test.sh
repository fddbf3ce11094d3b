#!/bin/sh
# The efficientad command line: a tiny happy path, then the mistakes users make. Each must end with the documented
# exit status (0 ok, 1 error, 2 usage, 3 anomaly found with --fail-on-anomaly) and a message naming the problem.
set -u
tool="$1"
work=$(mktemp -d "${TMPDIR:-/tmp}/efficientad-cli-XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0

. "$(dirname "$0")/expect.sh"

# Happy path on the self-made data.
expect 0 "wrote" -- "$tool" synth --output "$work/data" --train 6 --test-good 2 --defects-per-kind 1
expect 0 "wrote 12 frames (128x96) of 3 parts, 1 defective" -- "$tool" conveyor --output "$work/belt" --parts 3 --good-parts 1 --defect-every 2 --width 128 --height 96 --step 40
[ -f "$work/belt/frame-00011.png" ] && [ ! -f "$work/belt/frame-00012.png" ] && [ "$(wc -l < "$work/belt/parts.csv")" -eq 4 ] ||
  { echo "FAIL: conveyor outputs"; failures=$((failures + 1)); }
expect 2 "give --output" -- "$tool" conveyor --parts 3
expect 2 "--step" -- "$tool" conveyor --output "$work/belt2" --step 0
expect 2 "cannot exceed the 3 parts" -- "$tool" conveyor --output "$work/belt2" --parts 3 --good-parts 4
expect 2 "unknown option" -- "$tool" conveyor --output "$work/belt2" --frames 10
expect 0 "wrote .*model.efad" -- "$tool" train --data "$work/data/train/good" --output "$work/model.efad" --steps 2 --quiet
expect 0 "EfficientAD-S" -- "$tool" info "$work/model.efad"
expect 0 "int8 threshold: *[0-9.e-]* (fast mode on a CPU" -- "$tool" info "$work/model.efad"
expect 0 "int8 decoder: *calibrated" -- "$tool" info "$work/model.efad"
# Teachers: the default (auto) is the shipped, distilled one for S and a random one for M, where none ships.
expect 0 "teacher: *file teacher_s.efad" -- "$tool" info "$work/model.efad"
expect 0 "origin: .*distilled (Algorithm 3)" -- "$tool" info "$(dirname "$0")/../../models/teacher_s.efad"
# auto keeps the frames' 4:3 at the 256x256 budget with the short side at 256.
expect 0 "input size 344x256 (the training images' median aspect ratio 1.33)" -- "$tool" train --data "$work/belt" --output "$work/wide.efad" --steps 1 --input-size auto
expect 0 "network input: *344x256" -- "$tool" info "$work/wide.efad"
# Models record the learning-rate schedule that made them.
expect 0 "schedule paper (Adam, 0.0001, a tenth of it for the last 5 %)" -- "$tool" info "$work/model.efad"
expect 0 "wrote" -- "$tool" train --data "$work/data/train/good" --output "$work/cosine.efad" --steps 2 --schedule cosine --learning-rate 0.001 --quiet
expect 0 "schedule cosine (Adam, peak 0.001, 5 % warm-up" -- "$tool" info "$work/cosine.efad"
# The pretraining penalty: procedural dead leaves, a folder of natural images, or none; models record which.
expect 0 "wrote" -- "$tool" train --data "$work/data/train/good" --output "$work/leaves.efad" --steps 1 --penalty dead-leaves --quiet
expect 0 "penalty dead-leaves images," -- "$tool" info "$work/leaves.efad"
expect 0 "wrote" -- "$tool" train --data "$work/data/train/good" --output "$work/nopenalty.efad" --steps 1 --penalty off --quiet
expect 0 "penalty off," -- "$tool" info "$work/nopenalty.efad"
expect 0 "wrote" -- "$tool" train --data "$work/data/train/good" --output "$work/natural.efad" --steps 1 --penalty-images "$work/data/test/good" --quiet
expect 0 "penalty 2 natural images," -- "$tool" info "$work/natural.efad"
expect 2 "use off or dead-leaves" -- "$tool" train --data "$work/data/train/good" --output "$work/m.efad" --steps 1 --penalty imagenet
expect 2 "--penalty off and --penalty-images contradict" -- "$tool" train --data "$work/data/train/good" --output "$work/m.efad" --steps 1 --penalty off --penalty-images "$work/data/test/good"
mkdir "$work/no-pictures" && echo "notes" > "$work/no-pictures/readme.txt"
expect 1 "no images in the penalty image folder" -- "$tool" train --data "$work/data/train/good" --output "$work/m.efad" --steps 1 --penalty-images "$work/no-pictures"
[ ! -e "$work/m.efad" ] || { echo "FAIL: a refused training left m.efad"; failures=$((failures + 1)); }
expect 0 "RANDOM teacher" -- "$tool" train --data "$work/data/train/good" --output "$work/random.efad" --steps 1 --teacher random --quiet
expect 0 "NO PRETRAINED TEACHER" -- "$tool" train --data "$work/data/train/good" --output "$work/m-auto.efad" --steps 1 --variant M --quiet
expect 2 "use paper or cosine" -- "$tool" train --data "$work/data/train/good" --output "$work/m.efad" --steps 1 --schedule onecycle
expect 2 "learning-rate must be from 0" -- "$tool" train --data "$work/data/train/good" --output "$work/m.efad" --steps 1 --learning-rate 0.5
expect 2 "no shipped teacher for EfficientAD-M" -- "$tool" train --data "$work/data/train/good" --output "$work/m.efad" --steps 1 --variant M --teacher shipped
mkdir "$work/no-teachers"
expect 2 "no shipped teacher for EfficientAD-S" -- env EFFICIENTAD_TEACHER_DIR="$work/no-teachers" "$tool" train --data "$work/data/train/good" --output "$work/m.efad" --steps 1 --teacher shipped
expect 0 "7 images" -- "$tool" infer --model "$work/model.efad" --output "$work/out" "$work/data/test/good" "$work/data/test/crack" "$work/data/test/chip" "$work/data/test/spot" "$work/data/test/scratch" "$work/data/test/missing_hole"
[ -f "$work/out/scores.csv" ] && [ -f "$work/out/crack_000_heatmap.png" ] || { echo "FAIL: infer outputs missing"; failures=$((failures + 1)); }
expect 3 "ANOMALY" -- "$tool" infer --model "$work/model.efad" --threshold -100 --fail-on-anomaly "$work/data/test/good"
# Exact mode's Winograd convolutions (the default) score as the direct ones do, to the 4 decimals printed.
for c in winograd direct; do
  "$tool" infer --model "$work/model.efad" --mode exact --convolutions $c "$work/data/test/good" "$work/data/test/crack" 2>&1 |
    grep -v "ms per image" > "$work/scores-$c.txt"
done
[ -s "$work/scores-direct.txt" ] && cmp -s "$work/scores-winograd.txt" "$work/scores-direct.txt" ||
  { echo "FAIL: exact scores differ between --convolutions winograd and direct"; failures=$((failures + 1)); }
# Fast mode's autoencoder: the int8 decoder (the default) and the float one score alike on the same model.
expect 0 "1 images" -- "$tool" infer --model "$work/model.efad" --autoencoder float "$work/data/test/good/000.png"
expect 0 "1 images" -- "$tool" infer --model "$work/model.efad" --autoencoder int8 "$work/data/test/good/000.png"
expect 0 "usage: efficientad train" -- "$tool" train --help
expect 0 "overall .*PRO@30\|PRO@30.*overall" -- sh -c "\"$tool\" eval --data \"$work/data\" --model \"$work/model.efad\" --output \"$work/eval\" --heatmaps --quiet | tr '\n' ' '"
grep -q '"name": "overall"' "$work/eval/eval.json" && [ -f "$work/eval/heatmaps/crack/000.png" ] || { echo "FAIL: eval outputs missing"; failures=$((failures + 1)); }
# The decision counts agree with the per-image decisions in eval.json, and follow --threshold.
/usr/bin/python3 - "$work/eval/eval.json" <<'PY' || { echo "FAIL: eval.json decision counts disagree with its images"; failures=$((failures + 1)); }
import json, sys
report = json.load(open(sys.argv[1]))
overall = [r for r in report["rows"] if r["name"] == "overall"][0]
flagged = [i for i in report["images"] if i["anomalous"]]
assert overall["false_alarms"] == sum(i["defect_type"] == "good" for i in flagged), overall
assert overall["detected"] == sum(i["defect_type"] != "good" for i in flagged), overall
t = report["threshold"]  # printed to 6 digits: a score that close to it may go either way
assert all(i["anomalous"] == (i["score"] > t) or abs(i["score"] - t) < 1e-5 * max(1, abs(t)) for i in report["images"]), t
PY
expect 0 "overall *2 *5 *2/2 *5/5 " -- "$tool" eval --data "$work/data" --model "$work/model.efad" --threshold -1000 --quiet
expect 0 "overall *2 *5 *0/2 *0/5 " -- "$tool" eval --data "$work/data" --model "$work/model.efad" --threshold 1e9 --quiet

# Usage errors: exit 2 with the command's usage.
expect 2 "unknown command" -- "$tool" frobnicate
expect 2 "unknown option --stpes" -- "$tool" train --data "$work/data/train/good" --output "$work/m.efad" --stpes 5
expect 2 "needs a value" -- "$tool" train --data "$work/data/train/good" --output
expect 2 "expects an integer" -- "$tool" train --data "$work/data/train/good" --output "$work/m.efad" --steps many
expect 2 "give --model" -- "$tool" infer "$work/data/test/good"
expect 2 "give exactly one model" -- "$tool" info
expect 2 "give at least one --data" -- "$tool" train --output "$work/m.efad"
expect 2 "give --backbone SPEC, --images DIR and --output" -- "$tool" distill --images "$work/data/train/good" --output "$work/t.efad"
expect 2 "expects an integer" -- "$tool" distill --backbone nsfwjs:x --images "$work/data/train/good" --output "$work/t.efad" --crop big
expect 2 "backbone-scale" -- "$tool" distill --backbone nsfwjs:x --images "$work/data/train/good" --output "$work/t.efad" --backbone-scale 8
expect 2 "empty list" -- "$tool" distill --backbone nsfwjs:x --images "$work/data/train/good" --output "$work/t.efad" --layers ,
# Option values the engine refuses are usage errors too.
expect 2 "out of range" -- "$tool" train --data "$work/data/train/good" --output "$work/m.efad" --input-size 100
expect 2 "use auto or auto:PIXELS" -- "$tool" train --data "$work/data/train/good" --output "$work/m.efad" --input-size auto:100
expect 2 "use auto or auto:PIXELS" -- "$tool" train --data "$work/data/train/good" --output "$work/m.efad" --input-size automatic
expect 2 "unknown variant" -- "$tool" train --data "$work/data/train/good" --output "$work/m.efad" --variant XL
expect 2 "unknown device" -- "$tool" infer --model "$work/model.efad" --device tpu "$work/data/test/good"
expect 2 "unknown mode" -- "$tool" eval --data "$work/data" --model "$work/model.efad" --mode quick
expect 2 "use winograd or direct" -- "$tool" infer --model "$work/model.efad" --convolutions fft "$work/data/test/good"
expect 2 "use winograd or direct" -- "$tool" eval --data "$work/data" --model "$work/model.efad" --convolutions fourier
expect 2 "use int8 or float" -- "$tool" infer --model "$work/model.efad" --autoencoder fp16 "$work/data/test/good"
expect 2 "use int8 or float" -- "$tool" eval --data "$work/data" --model "$work/model.efad" --autoencoder bf16

# Errors: exit 1 with an actionable message; nothing half-written.
mkdir -p "$work/empty"
expect 1 "no images" -- "$tool" train --data "$work/empty" --output "$work/m.efad"
expect 1 "not found" -- "$tool" train --data "$work/nope" --output "$work/m.efad"
expect 1 "does not exist" -- "$tool" train --data "$work/data/train/good" --output "$work/no/such/m.efad" --steps 1
expect 1 "model file not found" -- "$tool" info "$work/missing.efad"
head -c 1000 "$work/model.efad" > "$work/truncated.efad"
expect 1 "truncated" -- "$tool" info "$work/truncated.efad"
printf 'PK\003\004 not a model' > "$work/foreign.pth"
expect 1 "not a gst-efficientad model file" -- "$tool" infer --model "$work/foreign.pth" "$work/data/test/good"
printf 'garbage' > "$work/broken.png"
expect 1 "cannot decode" -- "$tool" infer --model "$work/model.efad" "$work/broken.png"
# Batch infer: an unreadable image is reported and skipped, the others are scored and written, the exit status is 1;
# inputs with one name in different folders get heatmaps of their own.
mkdir -p "$work/mixed/a/x" "$work/mixed/b/x"
cp "$work/data/test/good/000.png" "$work/mixed/a/x/1.png" && cp "$work/data/test/crack/000.png" "$work/mixed/b/x/1.png"
expect 1 "2 images scored.*1 could not be read" -- "$tool" infer --model "$work/model.efad" --output "$work/mixed-out" --batch 2 "$work/broken.png" "$work/mixed/a/x/1.png" "$work/mixed/b/x/1.png"
[ -f "$work/mixed-out/x_1_heatmap.png" ] && [ -f "$work/mixed-out/x_1_heatmap-2.png" ] && grep -q "broken.png,,,,.*cannot decode" "$work/mixed-out/scores.csv" || { echo "FAIL: mixed batch outputs"; failures=$((failures + 1)); }
# Hostile files are refused at once: a character device, a FIFO, a decompression bomb.
expect 1 "character device" -- "$tool" info /dev/zero
mkfifo "$work/model.fifo"
expect 1 "FIFO" -- timeout 20 "$tool" info "$work/model.fifo"
expect 1 "FIFO" -- timeout 20 "$tool" infer --model "$work/model.fifo" "$work/data/test/good"
expect 1 "no usable CUDA device" -- "$tool" infer --model "$work/model.efad" --device cuda "$work/data/test/good"
# distill: unusable backbones fail before anything is read or written.
expect 1 "nsfwjs:FOLDER" -- "$tool" distill --backbone vgg16 --images "$work/data/train/good" --output "$work/t.efad"
expect 1 "neither model.json nor model.min.js" -- "$tool" distill --backbone "nsfwjs:$work/empty" --images "$work/data/train/good" --output "$work/t.efad"
expect 1 "not a TorchScript module" -- "$tool" distill --backbone "torchscript:$work/broken.png" --images "$work/data/train/good" --output "$work/t.efad"
expect 1 "multiple of 4" -- "$tool" distill --backbone "torchscript:$work/broken.png" --images "$work/data/train/good" --output "$work/t.efad" --crop 130
expect 1 "nsfwjs backbones only" -- "$tool" distill --backbone "torchscript:$work/broken.png" --layers mixed0 --images "$work/data/train/good" --output "$work/t.efad"
[ -e "$work/t.efad" ] && { echo "FAIL: a failed distillation left $work/t.efad"; failures=$((failures + 1)); }
# train: a teacher that is not a teacher file is refused.
expect 1 "broken.png" -- "$tool" train --data "$work/data/train/good" --output "$work/m.efad" --teacher "$work/broken.png"
# eval: a dataset that is not in MVTec layout, or is missing masks, fails before anything runs.
expect 2 "either --model MODEL or --steps" -- "$tool" eval --data "$work/data"
expect 2 "either --model MODEL or --steps" -- "$tool" eval --data "$work/data" --model "$work/model.efad" --steps 3
expect 2 "--threshold expects a number, got 'high'" -- "$tool" eval --data "$work/data" --model "$work/model.efad" --threshold high
expect 2 "--threshold expects a number, got 'nan'" -- "$tool" eval --data "$work/data" --model "$work/model.efad" --threshold nan
expect 2 "--heatmaps needs --output" -- "$tool" eval --data "$work/data" --model "$work/model.efad" --heatmaps
expect 1 "dataset folder not found" -- "$tool" eval --data "$work/nope" --model "$work/model.efad"
expect 1 "test/good is missing" -- "$tool" eval --data "$work/data/train" --model "$work/model.efad"
cp -r "$work/data" "$work/nomask" && rm "$work/nomask/ground_truth/crack/000_mask.png"
expect 1 "no ground-truth mask for .*crack/000.png" -- "$tool" eval --data "$work/nomask" --steps 1 --output "$work/nomask-out"
[ -e "$work/nomask-out/model.efad" ] && { echo "FAIL: eval trained before checking the dataset"; failures=$((failures + 1)); }
cp -r "$work/data" "$work/badmask"
"$tool" synth --output "$work/other" --train 2 --test-good 1 --defects-per-kind 1 --size 200 >/dev/null 2>&1
cp "$work/other/ground_truth/chip/000_mask.png" "$work/badmask/ground_truth/chip/000_mask.png"
expect 1 "mask .* is 200x200 but its image" -- "$tool" eval --data "$work/badmask" --model "$work/model.efad"

# The cached teacher outputs take about their size: one block, not one allocation per image between each step's
# temporaries, which fragmented the heap to 3x (+293 MB here for a 130 MB cache before the fix).
"$tool" synth --output "$work/cache" --train 60 --test-good 1 --defects-per-kind 1 >/dev/null 2>&1
peak_mb() {
  "$tool" train --data "$work/cache/train/good" --steps 1 --cache-mb "$1" --output "$work/cache.efad" 2>&1 |
    sed -n 's/^peak resident memory \([0-9]*\) MB.*/\1/p'
}
uncached=$(peak_mb 0); cached=$(peak_mb 600)
bytes=4; grep -qE 'avx512_bf16|amx_bf16' /proc/cpuinfo && bytes=2  # fast mode caches bf16 where it runs bf16
cache_mb=$((54 * 384 * 56 * 56 * bytes / 1048576))  # 54 training images (10 % are held out)
echo "teacher cache of $cache_mb MB: peak $uncached MB without, $cached MB with"
[ -n "$uncached" ] && [ -n "$cached" ] && [ $((cached - uncached)) -le $((cache_mb * 3 / 2)) ] ||
  { echo "FAIL: the teacher cache took more than 1.5x its $cache_mb MB"; failures=$((failures + 1)); }

# bench: a list of input sizes, fast alone, each row with its share of the CPU's measured peak (AVX-512 CPUs).
expect 0 "EfficientAD-S, 256x320" -- "$tool" bench --fast-only --input-size 256,256x320 --iterations 1 --warmup 0 --train-steps 0
[ "$(grep -c "^EfficientAD-S" "$work/log")" -eq 2 ] && ! grep -q "naive" "$work/log" ||
  { echo "FAIL: bench --fast-only ran other rows or not two sizes"; failures=$((failures + 1)); }
if grep -q avx512f /proc/cpuinfo; then
  grep -q "fast (.*% of peak" "$work/log" && grep -q "work 37.95 GMAC per image" "$work/log" ||
    { echo "FAIL: bench lacks the work line or the fraction of peak"; failures=$((failures + 1)); }
fi
expect 2 "--model fixes the input size" -- "$tool" bench --model "$work/model.efad" --input-size 256,512
expect 1 "input side" -- "$tool" bench --fast-only --input-size 100 --iterations 1 --train-steps 0
expect 2 "--batch" -- "$tool" bench --fast-only --batch 0 --iterations 1 --train-steps 0
expect 2 "empty list" -- "$tool" bench --input-size ,

[ -e "$work/m.efad" ] && { echo "FAIL: a failed training left $work/m.efad"; failures=$((failures + 1)); }

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
