#!/bin/sh
# Capture normal frames from a source, train a model on them, then inspect the source with the anomaly overlay.
#   examples/capture-then-train.sh SOURCE WORKDIR [FRAMES] [STEPS]
# SOURCE: a video file, /dev/videoN (V4L2 camera), or fake-camera (aravis's simulated GigE Vision camera).
# Writes WORKDIR/capture/frame-*.png, WORKDIR/model.efad and WORKDIR/inspected.avi. FRAMES defaults to 60,
# STEPS to 300 (about 6 minutes on 2 CPU cores; 1000+ for production models). A second run resumes the capture.
# e.g. examples/capture-then-train.sh ../shared/data/videos/intel_sample_videos/bottle-detection.mp4 demo-capture
set -eu
[ $# -ge 2 ] || { sed -n '2,8p' "$0"; exit 2; }
. "$(dirname "$0")/gst-env.sh"
source=$1 work=$2 frames=${3:-60} steps=${4:-300}
mkdir -p "$work"

live_frames=$((frames * 5 + 30))  # live sources: stop after enough frames for capture-interval=5
case "$source" in
  fake-camera)
    # As root, aravis reads through a raw socket that misses loopback traffic: drop that capability.
    run_cam() { if [ "$(id -u)" -eq 0 ]; then setpriv --bounding-set -net_raw --inh-caps -net_raw "$@"; else "$@"; fi; }
    arv-fake-gv-camera-0.8 -i 127.0.0.1 >/dev/null 2>&1 &
    camera=$!
    trap 'kill $camera 2>/dev/null' EXIT
    sleep 1
    set -- aravissrc camera-name=Aravis-Fake-GV01 num-buffers="$live_frames" ! videoconvert
    interval=5 ;;
  /dev/video*)
    run_cam() { "$@"; }
    set -- v4l2src device="$source" num-buffers="$live_frames" ! videoconvert
    interval=5 ;;
  *)
    run_cam() { "$@"; }
    [ -f "$source" ] || { echo "no such video file: $source" >&2; exit 1; }
    set -- filesrc location="$source" ! decodebin ! videoconvert
    interval=3 ;;
esac

# The source is in "$@", one argument per word: gst-launch escapes the spaces inside an argument, so that paths
# with spaces work (a pipeline passed as one string would not parse).
started="$work/.capture-started"
: > "$started"
echo "== capture $frames frames and train ($steps steps): the pipeline ends when the model is written"
run_cam gst-launch-1.0 -q "$@" ! efficientadtrain capture-folder="$work/capture" capture-interval="$interval" \
  max-frames="$frames" steps="$steps" model-file="$work/model.efad" ! fakesink ||
  { echo "capture or training failed (see the messages above); no new model" >&2; exit 1; }
# A model from an earlier run must not pass for this one's.
[ -n "$(find "$work/model.efad" -newer "$started" 2>/dev/null)" ] || { echo "no new model was written (see the messages above)" >&2; exit 1; }
rm -f "$started"

echo "== inspect with the new model: $work/inspected.avi"
run_cam gst-launch-1.0 -q "$@" ! efficientad model-file="$work/model.efad" ! anomalyoverlay ! \
  videoconvert ! jpegenc ! avimux ! filesink location="$work/inspected.avi"
echo "done: $(ls "$work/capture" | grep -c '^frame-') captured frames, model $work/model.efad, video $work/inspected.avi"
