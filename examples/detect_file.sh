#!/bin/sh
# Inspect a video file: decode, detect, draw the anomaly maps, show it or write OUTPUT.avi.
#   examples/detect_file.sh MODEL VIDEO [OUTPUT.avi]
# e.g. with the project's test clip: examples/detect_file.sh demo/washer.efad ../shared/data/videos/intel_sample_videos/bottle-detection.mp4 out.avi
set -eu
[ $# -ge 2 ] || { sed -n '2,4p' "$0"; exit 2; }
. "$(dirname "$0")/gst-env.sh"
exec gst-launch-1.0 -m filesrc location="$2" ! decodebin ! videoconvert ! \
  efficientad model-file="$1" ! anomalyoverlay ! $(sink_for "${3:-}")
