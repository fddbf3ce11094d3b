#!/bin/sh
# Inspect a GigE Vision / USB3 Vision (GenICam) camera through aravissrc (Debian: libaravis-0.8-0).
#   examples/detect_genicam.sh MODEL [CAMERA-NAME] [OUTPUT.avi]
# Try it without hardware: arv-fake-gv-camera-0.8 -i 127.0.0.1 & examples/detect_genicam.sh MODEL Aravis-Fake-GV01
# (as root, aravis reads through a raw socket that misses loopback traffic: run as a user, or prefix with
#  'setpriv --bounding-set -net_raw --inh-caps -net_raw').
set -eu
[ $# -ge 1 ] || { sed -n '2,6p' "$0"; exit 2; }
. "$(dirname "$0")/gst-env.sh"
exec gst-launch-1.0 -m aravissrc ${2:+camera-name="$2"} ! videoconvert ! \
  efficientad model-file="$1" ! anomalyoverlay ! $(sink_for "${3:-}")
