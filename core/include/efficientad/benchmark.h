// Benchmarks that print figures: inference time per image (host image to host map) of the naive fp32 forward vs
// the exact and fast modes, with peak memory, and training step time of a naive fp32 step vs the optimised ones,
// all measured in the same run. Batch 1 gives latency, larger batches throughput. Optionally fast inference
// while another process keeps one core busy, at fixed and adaptive thread counts.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "efficientad/model.h"

namespace efficientad {

struct BenchmarkOptions {
  ModelGeometry geometry;       // ignored when model_path is set
  std::string model_path;       // empty: random weights (timings do not depend on the values)
  Device device = Device::Cpu;
  int threads = 0;              // 0 = one per core
  int batch = 1;
  int warmup = 3;
  int iterations = 20;
  int train_steps = 5;          // 0 skips the training benchmark
  bool contention = false;      // also time fast inference with one core kept busy by another process (CPU)
  bool fast_only = false;       // time fast inference alone (no naive or exact row, so no ratios): large inputs
                                // and batches, where the naive port would take minutes and gigabytes
};

struct BenchmarkRow {
  std::string name;
  double mean_ms = 0;
  double ratio = -1;            // mean_ms / the naive row's mean_ms; -1 without a naive row
  double max_relative_diff = -1;  // of the combined map vs naive (inference rows), -1 when not measured
  double peak_mb = -1;          // resident memory one call adds at its peak (CPU), -1 when not measured
  // (inference rows, CPU) the time its convolutions' MACs take at the CPU's measured peak for the dtypes the row
  // runs them in, over mean_ms; -1 when not measured (no AVX-512 loop for a dtype, or a GPU)
  double peak_fraction = -1;
  // Its fp32 convolutions ran as Winograd products, which multiply less than the MACs peak_fraction counts: a
  // fraction above 1 is then possible and says how far it outruns a direct convolution's floor.
  bool winograd = false;
};

struct BenchmarkReport {
  std::string setup;            // what was measured, one line
  std::string work;             // MACs per image and the CPU's measured peak per dtype, one line (CPU)
  std::vector<BenchmarkRow> inference;
  std::vector<BenchmarkRow> training;
  std::vector<BenchmarkRow> contention;  // ratio: to the quiet fast row
  std::string contention_setup;          // which core was busy, or why the section was skipped
  std::string text() const;     // a table with the targets of the README
};

BenchmarkReport run_benchmark(const BenchmarkOptions& options,
                              const std::function<void(const std::string&)>& log = {});

}  // namespace efficientad
