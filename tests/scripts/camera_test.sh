#!/bin/sh
# A real camera protocol end to end: aravis' fake GigE Vision camera on loopback -> aravissrc -> efficientad ->
# anomalyoverlay -> an MJPEG file. Normal frames are first captured from the same camera and a tiny model trained
# on them. Runs with this build's plugin only (private registry, no system efficientad).
set -eu
tool="$1"
plugin_dir="$2"
for program in arv-fake-gv-camera-0.8 gst-launch-1.0; do
  command -v "$program" >/dev/null || { echo "FAIL: $program not installed (.ci/install-deps installs aravis-tools)"; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/efficientad-camera-XXXXXX")
arv-fake-gv-camera-0.8 -i 127.0.0.1 -s EFAD0001 >"$work/camera.log" 2>&1 &
camera=$!
trap 'kill $camera 2>/dev/null; rm -rf "$work"' EXIT
sleep 1

export GST_PLUGIN_SYSTEM_PATH_1_0=
export GST_PLUGIN_PATH_1_0="$plugin_dir:$(pkg-config --variable=pluginsdir gstreamer-1.0)"
export GST_REGISTRY_1_0="$work/registry.bin"
# As root, aravis reads GigE Vision packets through a raw socket bound to a network card, which never sees the
# loopback traffic of the fake camera; without CAP_NET_RAW it uses a plain UDP socket.
run() {
  if [ "$(id -u)" -eq 0 ]; then setpriv --bounding-set -net_raw --inh-caps -net_raw "$@"; else "$@"; fi
}

mkdir "$work/good"
run gst-launch-1.0 -q aravissrc camera-name=Aravis-Fake-EFAD0001 num-buffers=8 ! videoconvert ! pngenc ! \
  multifilesink location="$work/good/%03d.png"
[ "$(ls "$work/good" | wc -l)" -eq 8 ] || { echo "FAIL: captured $(ls "$work/good" | wc -l) of 8 frames"; exit 1; }
"$tool" train --data "$work/good" --output "$work/camera.efad" --steps 3 --quiet

run gst-launch-1.0 -m aravissrc camera-name=Aravis-Fake-EFAD0001 num-buffers=12 ! \
  efficientad model-file="$work/camera.efad" post-messages=all ! anomalyoverlay ! videoconvert ! jpegenc ! avimux ! \
  filesink location="$work/inspected.avi" >"$work/pipeline.log" 2>&1 || { echo "FAIL: pipeline"; cat "$work/pipeline.log"; exit 1; }
frames=$(grep -c 'anomaly, event=(string)frame' "$work/pipeline.log" || true)
[ "$frames" -eq 12 ] || { echo "FAIL: $frames frame messages instead of 12"; cat "$work/pipeline.log"; exit 1; }
[ -s "$work/inspected.avi" ] || { echo "FAIL: no video written"; exit 1; }
echo "ok: 12 camera frames inspected, $(stat -c %s "$work/inspected.avi") bytes of video with overlays"
