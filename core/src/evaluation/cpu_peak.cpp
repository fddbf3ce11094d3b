#include "evaluation/cpu_peak.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "common/timing.h"
#include "efficientad/errors.h"

namespace efficientad::detail {

namespace {

constexpr int kAccumulators = 16;  // enough independent chains to cover any dot product's latency x ports

__attribute__((target("avx512f"))) float sum_lanes(const __m512 (&acc)[kAccumulators]) {
  alignas(64) float lanes[16];
  float sum = 0;
  for (const __m512& a : acc) {
    _mm512_store_ps(lanes, a);
    for (float lane : lanes) sum += lane;
  }
  return sum;
}

// Each kernel returns a value that depends on every accumulator, so that the compiler keeps all the work.
__attribute__((target("avx512f,avx512vnni"))) float int8_kernel(long iterations) {
  const __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(-1);
  __m512i acc[kAccumulators];
  for (int k = 0; k < kAccumulators; ++k) acc[k] = _mm512_set1_epi32(k);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kAccumulators; ++k) acc[k] = _mm512_dpbusd_epi32(acc[k], a, b);
  }
  alignas(64) int lanes[16];
  int sum = 0;
  for (int k = 0; k < kAccumulators; ++k) {
    _mm512_store_si512(lanes, acc[k]);
    for (int lane : lanes) sum += lane;
  }
  return float(sum);
}

__attribute__((target("avx512f,avx512bf16"))) float bf16_kernel(long iterations) {
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
  __m512 acc[kAccumulators];
  for (int k = 0; k < kAccumulators; ++k) acc[k] = _mm512_set1_ps(float(k));
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kAccumulators; ++k) acc[k] = _mm512_dpbf16_ps(acc[k], a, a);
  }
  return sum_lanes(acc);
}

__attribute__((target("avx512f"))) float fp32_kernel(long iterations) {
  const __m512 a = _mm512_set1_ps(1.0f), b = _mm512_set1_ps(1e-7f);
  __m512 acc[kAccumulators];
  for (int k = 0; k < kAccumulators; ++k) acc[k] = _mm512_set1_ps(float(k));
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kAccumulators; ++k) acc[k] = _mm512_fmadd_ps(acc[k], a, b);
  }
  return sum_lanes(acc);
}

// Wall seconds for `threads` threads to run kernel(iterations) each, started together.
double timed_on_threads(float (*kernel)(long), long iterations, int threads) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::atomic<float> sink{0};
  std::vector<std::thread> team;
  for (int t = 0; t < threads; ++t) {
    team.emplace_back([&] {
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      sink.store(kernel(iterations));
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  const auto start = Clock::now();
  go.store(true);
  for (auto& t : team) t.join();
  return seconds_since(start);
}

// Best of `runs` ~50 ms runs, in GMAC/s over all threads.
double peak_gmacs(float (*kernel)(long), int macs_per_instruction, int threads, int runs) {
  long iterations = 1 << 14;
  while (timed_on_threads(kernel, iterations, 1) < 0.01) iterations *= 2;
  iterations *= 5;
  double best = 0;
  for (int run = 0; run < runs; ++run) {
    const double seconds = timed_on_threads(kernel, iterations, threads);
    const double macs = double(threads) * double(iterations) * kAccumulators * macs_per_instruction;
    best = std::max(best, macs / seconds * 1e-9);
  }
  return best;
}

}  // namespace

CpuPeak measure_cpu_peak(int threads, int runs) {
  if (threads < 1) throw InvalidArgument("measure_cpu_peak: threads must be >= 1, got " + std::to_string(threads));
  if (runs < 1) throw InvalidArgument("measure_cpu_peak: runs must be >= 1, got " + std::to_string(runs));
  CpuPeak peak;
  if (!__builtin_cpu_supports("avx512f")) return peak;  // the dtypes' peaks are then not measured
  peak.fp32_gmacs = peak_gmacs(fp32_kernel, 16, threads, runs);
  if (__builtin_cpu_supports("avx512vnni")) peak.int8_gmacs = peak_gmacs(int8_kernel, 64, threads, runs);
  if (__builtin_cpu_supports("avx512bf16")) peak.bf16_gmacs = peak_gmacs(bf16_kernel, 32, threads, runs);
  return peak;
}

CpuPeak best_of(const CpuPeak& a, const CpuPeak& b) {
  return {std::max(a.int8_gmacs, b.int8_gmacs), std::max(a.bf16_gmacs, b.bf16_gmacs),
          std::max(a.fp32_gmacs, b.fp32_gmacs)};
}

}  // namespace efficientad::detail
