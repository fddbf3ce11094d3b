#!/bin/sh
# Builds the libFuzzer targets with clang, AddressSanitizer and UndefinedBehaviorSanitizer (the whole engine and
# plugin coverage-instrumented, so that libFuzzer is guided by the parsers themselves) in their own build
# folder and runs each for FUZZ_SECONDS seconds (default 30) on seeds made by the project's own code. Fails on
# any crash, sanitizer report, leak, input slower than 5 s (30 s for fuzz_element) or using more than 2 GB; a
# failing input is kept in $FUZZ_ARTIFACTS (default build-fuzz/artifacts) to add to
# tests/fuzz/regressions/TARGET/. Inputs found there earlier run first, as regression tests. Prints executions,
# executions/s, coverage and the slowest input per target.
#   tests/fuzz/run.sh [TARGET...]
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
build=${FUZZ_BUILD:-build-fuzz}
seconds=${FUZZ_SECONDS:-30}
artifacts=${FUZZ_ARTIFACTS:-$build/artifacts}
targets=${*:-fuzz_model_file fuzz_pytorch fuzz_tfjs fuzz_image fuzz_element}
command -v clang++ >/dev/null || { echo "FAIL: clang++ not installed (.ci/install-deps installs clang and libfuzzer-14-dev)"; exit 1; }

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$build" -Dfuzzing=enabled -Db_sanitize=address,undefined -Db_lundef=false \
    -Dcpp_args=-fsanitize=fuzzer-no-link -Dc_args=-fsanitize=fuzzer-no-link -Dbuildtype=debugoptimized \
    -Dcuda=disabled -Dintrospection=disabled -Dexamples=disabled >"${TMPDIR:-/tmp}/efficientad-fuzz-setup.log" 2>&1 ||
    { cat "${TMPDIR:-/tmp}/efficientad-fuzz-setup.log"; exit 1; }
fi
ninja_targets=tests/fuzz/fuzz_seeds
for t in $targets; do ninja_targets="$ninja_targets tests/fuzz/$t"; done
case " $targets " in *" fuzz_element "*) ninja_targets="$ninja_targets gst/libgstefficientad.so" ;; esac
# shellcheck disable=SC2086
ninja -C "$build" $ninja_targets

work=$(mktemp -d "${TMPDIR:-/tmp}/efficientad-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
"$build/tests/fuzz/fuzz_seeds" "$work/seeds"
/usr/bin/python3 tests/fuzz/make_pth_seeds.py "$work/seeds/pytorch"
mkdir -p "$artifacts"

# LibTorch's one-time allocations at load are its own (suppressed by name in lsan.supp); everything else counts.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS="suppressions=$repo/tests/fuzz/lsan.supp:print_suppressions=0"
# The registry is scanned in-process: the uninstrumented gst-plugin-scanner cannot load instrumented plugins.
export GST_PLUGIN_SYSTEM_PATH_1_0= GST_PLUGIN_PATH_1_0="$repo/$build/gst" GST_REGISTRY_1_0="$work/registry.bin"
export GST_REGISTRY_FORK=no
export EFFICIENTAD_KEEP_TEST_FILES=

failures=0
for target in $targets; do
  timeout=5  # seconds per input
  case $target in
    fuzz_model_file) seeds=model_file max_len=65536 ;;
    fuzz_pytorch) seeds=pytorch max_len=16384 ;;
    fuzz_tfjs) seeds=tfjs max_len=16384 ;;
    fuzz_image) seeds=image max_len=65536 ;;
    # Every analysed frame runs the networks (0.2-1 s under ASan on 2 cores, and once over 5 s in CI on a busy VM):
    # a hang still fails, a slow neighbour does not.
    fuzz_element) seeds=element max_len=16384 timeout=30 ;;
    *) echo "unknown target $target"; exit 2 ;;
  esac
  binary="$build/tests/fuzz/$target"
  log="$work/$target.log"
  regressions="tests/fuzz/regressions/$target"
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    if ! "$binary" -timeout="$timeout" -rss_limit_mb=2048 "$regressions"/* >"$log" 2>&1; then
      echo "FAIL: $target: a regression input fails again"; tail -40 "$log"; failures=$((failures + 1)); continue
    fi
    echo "$target: $(ls "$regressions" | wc -l) regression input(s) pass"
  fi
  mkdir -p "$work/corpus/$target"
  if "$binary" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
      -artifact_prefix="$artifacts/$target-" "$work/corpus/$target" "$work/seeds/$seeds" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    slowest=$(sed -n 's/^stat::slowest_unit_time_sec: *//p' "$log")  # whole seconds
    [ "${slowest:-0}" -gt 0 ] || slowest="<1"
    echo "$target: $runs runs in ${seconds} s ($speed/s), $cov, corpus $(ls "$work/corpus/$target" | wc -l) inputs," \
      "slowest input ${slowest} s (limit ${timeout} s)"
  else
    echo "FAIL: $target (input kept under $artifacts):"; grep -E 'ERROR|SUMMARY|==[0-9]+==|#[0-9]+ ' "$log" | head -40
    failures=$((failures + 1))
  fi
done
[ "$failures" -eq 0 ]
