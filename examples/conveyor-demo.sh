#!/bin/sh
# The README's main job: the GStreamer product on a conveyor belt it renders itself.
#   examples/conveyor-demo.sh [OUTPUT]        (default ./demo; STEPS=300 training steps)
# 1. renders a video of washers passing a camera: a good start, then every third part defective;
# 2. efficientadtrain captures the good start and trains a model (gst-launch ends when it is written);
# 3. efficientad ! anomalypublish ! anomalyoverlay inspects the whole video: OUTPUT/inspected.mp4 (H.264, opens
#    in browsers and players) and the JSON-lines log OUTPUT/results.jsonl;
# 4. OUTPUT/scores.png: score over time with the threshold, the alarms and where the defects were.
# About 8 minutes on two CPU cores after the build.
set -eu
. "$(dirname "$0")/gst-env.sh"
tool="$repo/build/core/cli/efficientad"
out=${1:-"$repo/demo"}
steps=${STEPS:-300}
fps=10
[ -x "$tool" ] || { echo "build first: meson setup build && ninja -C build" >&2; exit 1; }
gst-inspect-1.0 efficientad >/dev/null 2>&1 || { echo "the efficientad plugin is not built (GStreamer dev packages missing?)" >&2; exit 1; }
gst-inspect-1.0 x264enc >/dev/null 2>&1 || { echo "x264enc missing: install gstreamer1.0-plugins-ugly (.ci/install-deps does)" >&2; exit 1; }
mkdir -p "$out"
rm -rf "$out/frames" "$out/capture"

echo "== 1/4 render the conveyor video: $out/conveyor.mp4"
"$tool" conveyor --output "$out/frames"
# Nearly lossless, as a camera recording would be kept for inspection.
gst-launch-1.0 -q multifilesrc location="$out/frames/frame-%05d.png" caps="image/png,framerate=$fps/1" ! pngdec ! \
  videoconvert ! x264enc pass=quant quantizer=12 speed-preset=faster ! mp4mux faststart=true ! \
  filesink location="$out/conveyor.mp4"
mv "$out/frames/parts.csv" "$out/parts.csv"
rm -rf "$out/frames"
# The good start: every frame before the first defective part comes into view.
good_frames=$(awk -F, 'NR > 1 && $2 != "good" { print $3; exit }' "$out/parts.csv")

# gst-launch on the recorded video; the rest of the pipeline follows in "$@", one argument per word (gst-launch
# escapes spaces inside an argument, so paths with spaces work).
on_video() { gst-launch-1.0 -q filesrc location="$out/conveyor.mp4" ! qtdemux ! h264parse ! avdec_h264 ! videoconvert "$@"; }
echo "== 2/4 capture the first $good_frames frames (good parts) and train ($steps steps): $out/conveyor.efad"
rm -f "$out/conveyor.efad"
on_video ! identity eos-after="$good_frames" ! \
  efficientadtrain capture-folder="$out/capture" resume=false capture-interval=2 max-frames=1000 steps="$steps" \
  model-file="$out/conveyor.efad" ! fakesink
[ -f "$out/conveyor.efad" ] || { echo "training did not write a model (see the messages above)" >&2; exit 1; }
"$tool" info "$out/conveyor.efad"

echo "== 3/4 inspect the whole belt: $out/inspected.mp4, $out/results.jsonl"
rm -f "$out/results.jsonl"
on_video ! efficientad model-file="$out/conveyor.efad" ! \
  anomalypublish source-id=conveyor-1 file-path="$out/results.jsonl" ! anomalyoverlay draw-regions=true ! \
  videoconvert ! x264enc speed-preset=faster ! mp4mux faststart=true ! filesink location="$out/inspected.mp4"

echo "== 4/4 plot the scores: $out/scores.png"
/usr/bin/python3 "$repo/examples/plot_scores.py" "$out/results.jsonl" "$out/scores.png" --parts "$out/parts.csv" \
  --fps "$fps" --trained-frames "$good_frames"
echo
echo "Open $out/inspected.mp4 (heatmap and defect boxes on every frame) and $out/scores.png;"
echo "the records are in $out/results.jsonl, the model in $out/conveyor.efad."
