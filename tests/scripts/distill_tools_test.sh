#!/bin/sh
# The GPU distillation tools (models/distill): the PyTorch rebuild of the backbone's targets equals the C++
# distiller's, a tiny distillation on the CPU gives a teacher that import-teacher and train accept, and the
# mistakes users make end with a message naming the problem.
# Usage: distill_tools_test.sh BACKBONE_TARGETS_TOOL EFFICIENTAD_CLI (EFFICIENTAD_NSFWJS_DIR and
# EFFICIENTAD_SHARED_DATA set by meson).
set -u
targets_tool=$1 cli=$2
tools=$(cd "$(dirname "$0")/../../models/distill" && pwd)
python=/usr/bin/python3
nsfwjs=${EFFICIENTAD_NSFWJS_DIR:?set EFFICIENTAD_NSFWJS_DIR (meson -Dnsfwjs_dir, see models/fetch-nsfwjs.sh)}
images=${EFFICIENTAD_SHARED_DATA:?set EFFICIENTAD_SHARED_DATA}/natural_images/imagenet_samples
[ -f "$nsfwjs/model.min.js" ] || { echo "FAIL: no nsfwjs backbone in $nsfwjs (run models/fetch-nsfwjs.sh)"; exit 1; }
[ -d "$images" ] || { echo "FAIL: no ImageNet samples in $images"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/efficientad-distill-XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0

. "$(dirname "$0")/expect.sh"

# The export holds exactly the 5 138 656 weight bytes up to mixed5 (nsfwjs notes).
expect 0 "exported 165 layers, 200 tensors, 5138656 bytes" -- node "$tools/export_nsfwjs.js" "$nsfwjs" "$work/export"
# Same targets as the C++ distiller, for the second teacher's layers (at 1024 px) and the first one's.
image=$(ls "$images"/*.JPEG | head -1)
for choice in "mixed1,mixed2 4" "mixed2,mixed5 2"; do
  set -- $choice
  expect 0 "targets written" -- "$targets_tool" "nsfwjs:$nsfwjs" "$1" "$2" "$image" "$work/cpp"
  expect 0 "relative L2 difference [0-9.]*e-0[5-9]" -- "$python" "$tools/check_backbone.py" "$work/export" "$1" "$2" "$work/cpp"
done
# ... and the check notices a difference: other layers than the C++ side computed.
expect 1 "relative L2 difference" -- "$python" "$tools/check_backbone.py" "$work/export" mixed0,mixed1 2 "$work/cpp"

# A tiny distillation on the CPU: 60 images packed at 64 px, 2 steps, backbone at 256 px.
mkdir "$work/images" "$work/few" "$work/empty"
for f in $(ls "$images"/*.JPEG | head -60); do ln -s "$f" "$work/images/"; done
for f in $(ls "$images"/*.JPEG | head -10); do ln -s "$f" "$work/few/"; done
expect 0 "60 images at 64x64, quality 85" -- "$python" "$tools/pack_images.py" "$work/images" "$work/export/imagenet.pack" 64 85
expect 0 "tiny done: 2 steps" -- "$python" "$tools/distill.py" --export "$work/export" --images "$work/export/imagenet.pack" \
    --layers mixed0,mixed1 --scale 1 --steps 2 --batch 2 --draws 4 --out "$work/out" --name tiny
expect 0 "EfficientAD-S teacher, 8 tensors" -- "$cli" import-teacher --output "$work/tiny.efad" --origin "tiny CPU run" "$work/out/tiny.pth"
expect 0 "origin: .*tiny CPU run; imported from tiny.pth" -- "$cli" info "$work/tiny.efad"
expect 0 "wrote" -- "$cli" synth --output "$work/data" --train 6 --test-good 2 --defects-per-kind 1
expect 0 "wrote .*model.efad" -- "$cli" train --data "$work/data/train/good" --output "$work/model.efad" --steps 1 --teacher "$work/tiny.efad" --quiet
grep -q '"steps": 2' "$work/out/tiny.json" || { echo "FAIL: tiny.json lacks the step count"; failures=$((failures + 1)); }

# Mistakes.
expect 2 "usage: node export_nsfwjs.js" -- node "$tools/export_nsfwjs.js"
expect 1 "no model.min.js in" -- node "$tools/export_nsfwjs.js" "$work/empty" "$work/export2"
expect 1 "need at least 2 images" -- "$python" "$tools/pack_images.py" "$work/empty" "$work/empty.pack"
expect 1 "SIDE must be a multiple of 16" -- "$python" "$tools/pack_images.py" "$work/images" "$work/bad.pack" 100
"$python" "$tools/pack_images.py" "$work/few" "$work/few.pack" 64 >/dev/null
expect 1 "need more than 51 images, the pack holds 10" -- "$python" "$tools/distill.py" --export "$work/export" \
    --images "$work/few.pack" --steps 1 --out "$work/out" --name few
head -c 50000 "$work/export/imagenet.pack" > "$work/truncated.pack"
expect 1 "truncated" -- "$python" "$tools/distill.py" --export "$work/export" --images "$work/truncated.pack" --steps 1 --out "$work/out" --name cut
expect 1 "not an image pack" -- "$python" "$tools/distill.py" --export "$work/export" --images "$image" --steps 1 --out "$work/out" --name jpeg
expect 1 "'0.weight' is in two parts" -- "$python" "$tools/merge_parts.py" "$work/merged.pth" "$work/out/tiny.pth" "$work/out/tiny.pth"
[ ! -f "$work/merged.pth" ] || { echo "FAIL: a refused merge wrote a file"; failures=$((failures + 1)); }

[ "$failures" -eq 0 ] && echo "all distillation-tool checks passed" || echo "$failures failed"
[ "$failures" -eq 0 ]
