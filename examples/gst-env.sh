# Sourced by the example scripts: use this checkout's build of the plugin when there is one (an installed plugin
# needs nothing). EFFICIENTAD_BUILD names another build folder than ./build.
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${EFFICIENTAD_BUILD:-"$repo/build"}
if [ -f "$build/gst/libgstefficientad.so" ]; then
  export GST_PLUGIN_PATH="$build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
  export GI_TYPELIB_PATH="$build/gst${GI_TYPELIB_PATH:+:$GI_TYPELIB_PATH}"
  export LD_LIBRARY_PATH="$build/gst${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# Shows the video when a display is available, else writes an MJPEG AVI that any player opens.
sink_for() {
  if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${1:-}" ]; then
    echo "videoconvert ! autovideosink"
  else
    echo "videoconvert ! jpegenc ! avimux ! filesink location=${1:-inspected.avi}"
  fi
}
