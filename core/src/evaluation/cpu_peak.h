// The most multiply-accumulates per second this CPU can do in each dtype the networks use: the yardstick for
// "what fraction of the machine does inference use". Measured, not taken from a data sheet: each dtype runs a
// tight loop of its widest dot-product instruction (AVX-512 VNNI u8 x s8 -> s32, AVX512-BF16 bf16 pairs -> fp32,
// fp32 FMA) on 16 independent register accumulators, so that neither latency nor memory holds it back, on
// `threads` threads at once. No real convolution can beat it; oneDNN's best kernels come close.
#pragma once

namespace efficientad::detail {

struct CpuPeak {
  // Giga multiply-accumulates per second over all threads; 0 where this CPU lacks the instruction.
  double int8_gmacs = 0, bf16_gmacs = 0, fp32_gmacs = 0;
};

// The best of `runs` runs of about 50 ms per dtype. Throws InvalidArgument for threads or runs < 1.
CpuPeak measure_cpu_peak(int threads, int runs = 5);
// The larger of each dtype's figure: peaks measured at several moments.
CpuPeak best_of(const CpuPeak& a, const CpuPeak& b);

}  // namespace efficientad::detail
