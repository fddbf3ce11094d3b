#!/bin/sh
# The hostile probe of issue 18, re-run: each line feeds the tools and elements something a hostile or careless
# user would, and prints what happened (exit status, seconds, peak memory). Not a pass/fail test (the unit, CLI,
# element and fuzzing tests hold the assertions); a table for reviews.
#   tests/scripts/probe.sh BUILD_DIR
set -u
build=$(cd "${1:-build}" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
tool="$build/core/cli/efficientad"
work=$(mktemp -d "${TMPDIR:-/tmp}/efficientad-probe-XXXXXX")
trap 'rm -rf "$work"' EXIT
export GST_PLUGIN_SYSTEM_PATH_1_0= GST_PLUGIN_PATH_1_0="$build/gst:$(pkg-config --variable=pluginsdir gstreamer-1.0)"
export GST_REGISTRY_1_0="$work/registry.bin"

# probe NAME -- command...: runs it with a 60 s limit; prints status, seconds, peak MB and the first error line.
probe() {
  name=$1; shift 2
  /usr/bin/time -f "%e %M" -o "$work/time" timeout 60 "$@" >"$work/out" 2>&1
  status=$?
  read -r seconds kb <<EOF_TIME
$(tail -1 "$work/time")
EOF_TIME
  case $kb in (*[!0-9]*|"") kb=0 ;; esac
  message=$(grep -m1 -E "error:|ERROR|WARNING|unknown|refus" "$work/out" | cut -c1-110)
  printf '| %s | %s | %s s | %s MB | %s |\n' "$name" "$status" "$seconds" "$((kb / 1024))" "$message"
}

"$tool" synth --output "$work/data" --train 6 --test-good 2 --defects-per-kind 1 >/dev/null 2>&1
"$tool" train --data "$work/data/train/good" --output "$work/model.efad" --steps 2 --quiet >/dev/null 2>&1
/usr/bin/python3 "$repo/tests/scripts/make_pth_fixtures.py" "$work" >/dev/null 2>&1
echo "| probe | exit | time | peak | first message |"
echo "| --- | --- | --- | --- | --- |"
probe "import-teacher: pickle nested 10^6 deep" -- "$tool" import-teacher --output "$work/t.efad" "$work/deep_nesting.pth"
probe "import-teacher: dict containing itself" -- "$tool" import-teacher --output "$work/t.efad" "$work/self_dict.pth"
probe "import-teacher: 1 float viewed as 2^40" -- "$tool" import-teacher --output "$work/t.efad" "$work/expanded.pth"
probe "info /dev/zero" -- "$tool" info /dev/zero
mkfifo "$work/fifo.efad"
probe "info FIFO" -- "$tool" info "$work/fifo.efad"
probe "efficientad model-file=FIFO" -- gst-launch-1.0 videotestsrc num-buffers=2 ! efficientad model-file="$work/fifo.efad" ! fakesink
cp "$work/model.efad" "$work/huge.efad" && truncate -s 10G "$work/huge.efad"
probe "info 10 GB file (sparse), header says 32 MB" -- "$tool" info "$work/huge.efad"
cp "$work/model.efad" "$work/padded.efad" && truncate -s 900M "$work/padded.efad"
probe "info 900 MB file, header says 32 MB" -- "$tool" info "$work/padded.efad"
/usr/bin/python3 - "$work" <<'PY'
import struct, sys, zlib
w = sys.argv[1]
row = b"\x00" * (1 + 3 * 20000)  # 20000 x 20000 RGB, all zeros: about 1.2 MB deflated
z = zlib.compressobj(9)
idat = b"".join(z.compress(row) for _ in range(20000)) + z.flush()
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)) + \
      chunk(b"IDAT", idat) + chunk(b"IEND", b"")
open(w + "/bomb.png", "wb").write(png)
PY
probe "infer 20000x20000 PNG bomb ($(du -k "$work/bomb.png" | cut -f1) KB)" -- "$tool" infer --model "$work/model.efad" --output "$work/bomb-out" "$work/bomb.png"
printf 'garbage' >"$work/bad.png"
mkdir -p "$work/a/x" "$work/b/x" && cp "$work/data/test/good/000.png" "$work/a/x/1.png" && cp "$work/data/test/crack/000.png" "$work/b/x/1.png"
probe "infer batch with one bad image" -- "$tool" infer --model "$work/model.efad" --output "$work/mixed" "$work/bad.png" "$work/a/x/1.png" "$work/b/x/1.png"
echo "|   heatmaps written | $(ls "$work/mixed" | grep -c heatmap) for 2 same-named inputs | | | scores.csv rows: $(($(wc -l <"$work/mixed/scores.csv") - 1)) |"
probe "bad option value (--variant XL)" -- "$tool" train --data "$work/data/train/good" --output "$work/x.efad" --variant XL
probe "efficientad roi=1,2,3" -- gst-launch-1.0 videotestsrc num-buffers=2 ! efficientad model-file="$work/model.efad" roi=1,2,3 ! fakesink
probe "efficientad roi=0,0,99999999999,5" -- gst-launch-1.0 videotestsrc num-buffers=2 ! efficientad model-file="$work/model.efad" roi=0,0,99999999999,5 ! fakesink
probe "efficientadtrain, full disk (ulimit -f 64)" -- sh -c "trap '' XFSZ; ulimit -f 64; exec gst-launch-1.0 videotestsrc num-buffers=8 pattern=ball ! efficientadtrain capture-folder='$work/cap' max-frames=6 steps=2 teacher=random ! fakesink"
echo "|   frames on disk | $(ls "$work/cap" 2>/dev/null | grep -c png) | | | model written: $(test -f "$work/cap/model.efad" && echo yes || echo no) |"
probe "eval without --output, twice at once" -- sh -c "'$tool' eval --data '$work/data' --steps 1 --quiet --teacher random >/dev/null & '$tool' eval --data '$work/data' --steps 1 --quiet --teacher random; wait"
echo "|   left in ${TMPDIR:-/tmp} | $(ls -d "${TMPDIR:-/tmp}"/efficientad-eval-* 2>/dev/null | wc -l) eval folders | | | |"
: >"$work/.model.efad.tmp-999999-AbCdEf"
"$tool" train --data "$work/data/train/good" --output "$work/model.efad" --steps 1 --quiet >/dev/null 2>&1
echo "| stale temporary of a dead writer, after the next write | $(ls -a "$work" | grep -c '\.tmp-') left | | | |"
