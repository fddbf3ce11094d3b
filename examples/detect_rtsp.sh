#!/bin/sh
# Inspect an RTSP stream (IP camera, NVR).
#   examples/detect_rtsp.sh MODEL rtsp://camera/stream [OUTPUT.avi]
set -eu
[ $# -ge 2 ] || { sed -n '2,3p' "$0"; exit 2; }
. "$(dirname "$0")/gst-env.sh"
exec gst-launch-1.0 -m rtspsrc location="$2" latency=200 ! decodebin ! videoconvert ! \
  efficientad model-file="$1" qos=true ! anomalyoverlay ! $(sink_for "${3:-}")
