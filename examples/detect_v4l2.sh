#!/bin/sh
# Inspect a USB/V4L2 camera live, every second frame, and print alarm messages.
#   examples/detect_v4l2.sh MODEL [DEVICE] [OUTPUT.avi]
set -eu
[ $# -ge 1 ] || { sed -n '2,3p' "$0"; exit 2; }
. "$(dirname "$0")/gst-env.sh"
exec gst-launch-1.0 -m v4l2src device="${2:-/dev/video0}" ! videoconvert ! \
  efficientad model-file="$1" inference-interval=2 qos=true ! anomalyoverlay ! $(sink_for "${3:-}")
