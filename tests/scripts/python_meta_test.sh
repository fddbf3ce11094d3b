#!/bin/sh
# Python reads GstAnomalyMeta through GObject introspection (examples/read_scores.py), with this build's plugin,
# meta library and typelib only.
set -eu
tool="$1"
build_gst="$2"
example="$3"
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import gi' 2>/dev/null ||
  { echo "FAIL: Debian's python3-gi is missing (.ci/install-deps installs it)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/efficientad-python-XXXXXX")
trap 'rm -rf "$work"' EXIT
"$tool" synth --output "$work/data" --train 3 --test-good 1 --defects-per-kind 1 >/dev/null
"$tool" train --data "$work/data/train/good" --output "$work/model.efad" --steps 1 --quiet >/dev/null

export GST_PLUGIN_SYSTEM_PATH_1_0=
export GST_PLUGIN_PATH_1_0="$build_gst:$(pkg-config --variable=pluginsdir gstreamer-1.0)"
export GST_REGISTRY_1_0="$work/registry.bin"
export GI_TYPELIB_PATH="$build_gst" LD_LIBRARY_PATH="$build_gst"
/usr/bin/python3 "$example" "$work/model.efad" >"$work/out" 2>&1 || { echo "FAIL: example exited $?"; cat "$work/out"; exit 1; }
frames=$(grep -c '^frame [0-9]*: score [0-9.-]* threshold [0-9.]* \(ok\|ANOMALY\) map 256x256 over 320x240+0+0' "$work/out" || true)
[ "$frames" -eq 10 ] || { echo "FAIL: $frames of 10 frames read from Python"; cat "$work/out"; exit 1; }
# The defect regions through introspection: a model of washers finds test patterns anomalous all over.
with_regions=$(grep -c 'regions [1-9][0-9]* largest [0-9]*x[0-9]*+[0-9]*+[0-9]* area [0-9]* peak' "$work/out" || true)
[ "$with_regions" -ge 1 ] || { echo "FAIL: no defect region read from Python"; cat "$work/out"; exit 1; }
echo "ok: Python read the scores, maps and defect regions of 10 frames ($with_regions with regions)"
