#!/bin/sh
# The README's main job: the GStreamer product on a conveyor belt it renders itself.
#   examples/conveyor-demo.sh [OUTPUT]   (default ./demo; STEPS=300 training steps, PARTS=36 parts on the belt)
# 1. renders a video of washers passing a camera: a good start, then every third part defective;
# 2. efficientadtrain captures the good start and trains a model (gst-launch ends when it is written);
# 3. efficientad ! anomalypublish ! anomalyoverlay inspects the whole video: OUTPUT/inspected.mp4 (H.264, opens
#    in browsers and players) and the JSON-lines log OUTPUT/results.jsonl;
# 4. OUTPUT/scores.png: score over time with the threshold, the alarms and where the defects were.
# About 8 minutes on two CPU cores after the build.
set -eu
. "$(dirname "$0")/gst-env.sh"
tool="$build/core/cli/efficientad"
out=${1:-"$repo/demo"}
steps=${STEPS:-300}
parts=${PARTS:-36}
fps=10
[ -x "$tool" ] || { echo "build first: meson setup build && ninja -C build" >&2; exit 1; }
gst-inspect-1.0 efficientad >/dev/null 2>&1 || { echo "the efficientad plugin is not built (GStreamer dev packages missing?)" >&2; exit 1; }
gst-inspect-1.0 x264enc >/dev/null 2>&1 || { echo "x264enc missing: install gstreamer1.0-plugins-ugly (.ci/install-deps does)" >&2; exit 1; }
mkdir -p "$out"
rm -rf "$out/frames" "$out/capture"

echo "== 1/4 render the conveyor video: $out/conveyor.mp4"
"$tool" conveyor --output "$out/frames" --parts "$parts"
# Nearly lossless, as a camera recording would be kept for inspection.
gst-launch-1.0 -q multifilesrc location="$out/frames/frame-%05d.png" caps="image/png,framerate=$fps/1" ! pngdec ! \
  videoconvert ! x264enc pass=quant quantizer=12 speed-preset=faster ! mp4mux faststart=true ! \
  filesink location="$out/conveyor.mp4"
mv "$out/frames/parts.csv" "$out/parts.csv"
rm -rf "$out/frames"
# The good start: every frame before the first defective part comes into view.
good_frames=$(awk -F, 'NR > 1 && $2 != "good" { print $3; exit }' "$out/parts.csv")

# The element messages of efficientadtrain that tell where training stands, as short lines.
progress_lines() {
  awk 'function field(name) {  # the value of name=(type)value in a gst-launch -m line
         if (!match($0, name "=\\([a-z0-9]+\\)[^,;]+")) return ""
         value = substr($0, RSTART, RLENGTH); sub(/^[^)]*\)/, "", value); return value }
       /: training-started,/ { printf "  training on %s frames, %s steps\n", field("frames"), field("steps"); fflush() }
       /: training-progress,/ && field("phase") == "training" {
         step = field("step") + 0; total = field("total") + 0
         if (total > 0 && int(10 * step / total) > shown) {
           shown = int(10 * step / total)
           printf "  step %d of %d, loss %.2f, about %d s left\n", step, total, field("loss"), field("eta-seconds"); fflush() } }
       /: training-done,/ { int8 = field("int8-threshold")
         printf "  model written in %d s, threshold %.4f%s\n", field("seconds"), field("threshold"),
           int8 == "" ? "" : sprintf(" (exact maps), %.4f for the int8 maps of fast mode", int8) }
       /: training-failed,/ { print "  " $0 }
       /^(ERROR|WARNING)/ { print; fflush() }'
}
# gst-launch on the recorded video: the rest of the pipeline follows in "$@", one argument per word (gst-launch
# escapes spaces inside an argument, so paths with spaces work). A first argument -m prints the element messages
# (instead of -q, which would silence them).
on_video() {
  verbosity=-q
  [ "$1" = -m ] && { verbosity=-m; shift; }
  gst-launch-1.0 "$verbosity" filesrc location="$out/conveyor.mp4" ! qtdemux ! h264parse ! avdec_h264 ! videoconvert "$@"
}
echo "== 2/4 capture the first $good_frames frames (good parts) and train ($steps steps): $out/conveyor.efad"
rm -f "$out/conveyor.efad"
# gst-launch -m prints the element messages; show the training's progress every tenth of the way.
on_video -m ! identity eos-after="$good_frames" ! \
  efficientadtrain capture-folder="$out/capture" resume=false capture-interval=2 max-frames=1000 steps="$steps" \
  model-file="$out/conveyor.efad" ! fakesink | progress_lines
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
