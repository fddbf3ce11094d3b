#!/bin/sh
# Builds everything with clang, AddressSanitizer and UndefinedBehaviorSanitizer (the build folder of
# tests/fuzz/run.sh, default build-fuzz) and runs the unit and element tests there (not the pipelines of system
# programs, which cannot load instrumented plugins). Not part of CI (about 10 minutes on two cores after the
# build); run it before a release or after touching a parser. Extra arguments go to
# `meson test` (e.g. a test name). Only what LibTorch itself reports is suppressed, by name (tests/fuzz/lsan.supp).
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
build=${FUZZ_BUILD:-build-fuzz}
shared=${EFFICIENTAD_SHARED_DATA:-$(cd "$repo/../shared/data" 2>/dev/null && pwd || true)}
nsfwjs=$(models/fetch-nsfwjs.sh 2>/dev/null || true)
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$build" -Dfuzzing=enabled -Db_sanitize=address,undefined -Db_lundef=false \
    -Dcpp_args=-fsanitize=fuzzer-no-link -Dc_args=-fsanitize=fuzzer-no-link -Dbuildtype=debugoptimized \
    -Dcuda=disabled -Dintrospection=disabled -Dexamples=disabled
fi
meson configure "$build" -Dshared_data="$shared" -Dnsfwjs_dir="$nsfwjs"
ninja -C "$build"
# oneDNN's JIT kernels (inside LibTorch, uninstrumented) load whole vectors past the end of buffers; wide
# redzones keep those loads on mapped memory instead of faulting. The registry is scanned in-process: the
# uninstrumented gst-plugin-scanner cannot load instrumented plugins.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:redzone=2048:max_redzone=2048
export GST_REGISTRY_FORK=no
rm -f "$build"/tests/registry-*.bin  # a registry scanned by the forked scanner lists the plugin as unloadable
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS="suppressions=$repo/tests/fuzz/lsan.supp:print_suppressions=0"
# LibTorch's timing of the slow tests grows about threefold under the sanitizers.
meson test -C "$build" --no-rebuild --print-errorlogs --timeout-multiplier 4 --suite unit --suite gst "$@"
