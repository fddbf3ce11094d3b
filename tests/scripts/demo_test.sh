#!/bin/sh
# The README's main job, shortened (15 parts, 10 training steps): every output exists and is what it claims to be.
#   demo_test.sh REPO_ROOT BUILD_DIR
set -u
repo=$1
export EFFICIENTAD_BUILD="$2"
work=$(mktemp -d "${TMPDIR:-/tmp}/efficientad-demo-XXXXXX")
[ -n "${EFFICIENTAD_KEEP_TEST_FILES:-}" ] || trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
export GST_REGISTRY_1_0="$work/registry.bin"  # this build's plugin, not one a user installed
for need in x264enc avdec_h264 h264parse mp4mux qtdemux; do
  gst-inspect-1.0 "$need" >/dev/null 2>&1 || { echo "FAIL: GStreamer element $need missing (.ci/install-deps installs it)"; exit 1; }
done
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || { echo "FAIL: python3-matplotlib missing (.ci/install-deps)"; exit 1; }

STEPS=10 PARTS=15 "$repo/examples/conveyor-demo.sh" "$work/demo" > "$work/log" 2>&1 || { sed 's/^/  | /' "$work/log"; fail "the demo exited $?"; }
cat "$work/log"
frames=$(awk -F, 'NR > 1 { last = $4 } END { print last + 1 }' "$work/demo/parts.csv" 2>/dev/null)
# Every frame of the rendered video was analysed and published: one record with a stream time per frame.
records=$(grep -c '"stream_time_ns":[0-9]' "$work/demo/results.jsonl" 2>/dev/null)
[ "${records:-0}" -ge "${frames:-1}" ] && [ "$frames" -gt 300 ] || fail "$records frame records for $frames frames"
# Both videos decode as H.264 with every frame (what a player or browser needs).
for video in conveyor inspected; do
  decoded=$(gst-launch-1.0 -v filesrc location="$work/demo/$video.mp4" ! qtdemux ! video/x-h264 ! h264parse ! \
    avdec_h264 ! fakesink silent=false 2>&1 | grep -c 'fakesink0: last-message = chain')
  [ "$decoded" -eq "$frames" ] || fail "$video.mp4 decodes to $decoded H.264 frames, not $frames"
done
[ "$(head -c 8 "$work/demo/scores.png" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ] || fail "scores.png is no PNG"
grep -q "defective parts with an alarm: [0-9]* of 1" "$work/log" || fail "no per-part report"
grep -q "step 10 of 10, loss" "$work/log" && grep -q "model written in" "$work/log" || fail "training progress not shown"
# A broken log is refused with the line named, not plotted.
printf '{"event":"frame","stream_time_ns":0,"score":0.1,"threshold":0.2,"alarm":false}\n{"event":\n' > "$work/bad.jsonl"
/usr/bin/python3 "$repo/examples/plot_scores.py" "$work/bad.jsonl" "$work/bad.png" > "$work/out" 2>&1 &&
  fail "a broken log was plotted"
grep -q "bad.jsonl:2: not a JSON record" "$work/out" || { cat "$work/out"; fail "the broken line is not named"; }
: > "$work/empty.jsonl"
/usr/bin/python3 "$repo/examples/plot_scores.py" "$work/empty.jsonl" "$work/empty.png" > "$work/out" 2>&1 &&
  fail "an empty log was plotted"
grep -q "no frame records" "$work/out" || fail "the empty log is not explained"
[ ! -e "$work/bad.png" ] && [ ! -e "$work/empty.png" ] || fail "a plot was written for a bad log"
[ "$failures" -eq 0 ] && echo "demo: all checks passed"
exit $((failures > 0))
