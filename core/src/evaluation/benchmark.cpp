#include "efficientad/benchmark.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/cpu_threads.h"
#include "common/device.h"
#include "common/tensor_memory.h"
#include "common/timing.h"
#include "efficientad/errors.h"
#include "evaluation/cpu_peak.h"
#include "inference/detection.h"
#include "inference/map_computer.h"
#include "model/architecture.h"
#include "training/train_step.h"

namespace efficientad {

namespace {

using detail::Clock;
using detail::Networks;

Networks random_networks(const ModelGeometry& g) {
  at::manual_seed(0);
  Networks n;
  n.geometry = g;
  n.teacher = detail::make_pdn(g.variant, detail::kTeacherChannels, g.padding);
  n.student = detail::make_pdn(g.variant, 2 * detail::kTeacherChannels, g.padding);
  n.autoencoder = detail::make_autoencoder(g);
  n.teacher_mean = at::zeros({detail::kTeacherChannels});
  n.teacher_std = at::ones({detail::kTeacherChannels});
  const at::Tensor sample = detail::imagenet_normalize(at::rand({1, 3, g.input_height, g.input_width}));
  n.teacher_activation_max = detail::hidden_activation_max(n.teacher, sample);
  n.student_activation_max = detail::hidden_activation_max(n.student, sample);
  n.decoder_activation_max = detail::decoder_activation_max(n.autoencoder, sample);
  return n;
}

// A deterministic textured test image batch, uint8 NHWC.
at::Tensor bench_images(const ModelGeometry& g, int batch) {
  at::manual_seed(1);
  return at::randint(0, 256, {batch, g.input_height, g.input_width, 3}, at::kByte);
}

// The naive post-processing: the reference implementation's tensor ops (normalise, combine, pad, interpolate).
at::Tensor naive_combined(const detail::RawMaps& raw, const ModelInfo& info) {
  const auto& q = info.quantiles;
  const at::Tensor st = 0.1 * (raw.st - q.st_a) / (q.st_b - q.st_a);
  const at::Tensor ae = 0.1 * (raw.ae - q.ae_a) / (q.ae_b - q.ae_a);
  const int64_t b = info.geometry.map_border_cells();
  const at::Tensor padded = at::constant_pad_nd((0.5 * st + 0.5 * ae).unsqueeze(1), {b, b, b, b}, 0.0);
  return at::upsample_bilinear2d(padded, {info.geometry.input_height, info.geometry.input_width}, false).squeeze(1);
}

at::Tensor optimised_combined(const detail::RawMaps& raw, const ModelInfo& info) {
  const auto& g = info.geometry;
  at::Tensor out = at::empty({raw.st.size(0), g.input_height, g.input_width});
  const size_t cells = size_t(raw.st.size(1) * raw.st.size(2));
  for (int64_t i = 0; i < raw.st.size(0); ++i) {
    const Detection d = detail::finish_detection(raw.st.data_ptr<float>() + i * cells, raw.ae.data_ptr<float>() + i * cells,
                                                 info, g.input_width, g.input_height, false, info.threshold);
    std::copy(d.map.values.begin(), d.map.values.end(), out[i].data_ptr<float>());
  }
  return out;
}

// A memory figure of /proc/self/status in MB ("VmRSS:" now, "VmHWM:" the peak since the last
// reset_peak_memory()); -1 where there is no /proc.
double memory_mb(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::atof(line.c_str() + std::strlen(field)) / 1024.0;  // kB
  }
  return -1;
}

bool reset_peak_memory() { return bool(std::ofstream("/proc/self/clear_refs") << "5"); }

// What one call adds to resident memory at its peak: the call runs once after the peak is reset.
double peak_added_mb(const std::function<void()>& call) {
  if (!reset_peak_memory()) return -1;
  const double before = memory_mb("VmRSS:");
  call();
  const double peak = memory_mb("VmHWM:");
  return before < 0 || peak < 0 ? -1 : std::max(0.0, peak - before);
}

double max_relative_diff(const at::Tensor& a, const at::Tensor& reference) {
  return ((a - reference).abs().max() / reference.abs().max().clamp_min(1e-12)).item<double>();
}

std::string format_row(const BenchmarkRow& r) {
  char line[200];
  std::snprintf(line, sizeof line, "  %-50s %8.1f ms %7.1f img/s", r.name.c_str(), r.mean_ms, 1000.0 / r.mean_ms);
  std::string s = line;
  if (r.ratio >= 0) {
    std::snprintf(line, sizeof line, "  %5.2fx", r.ratio);
    s += line;
  }
  if (r.peak_mb >= 0) {
    std::snprintf(line, sizeof line, "  peak +%.0f MB", r.peak_mb);
    s += line;
  }
  if (r.max_relative_diff >= 0) {
    std::snprintf(line, sizeof line, "   map diff vs naive %.2e", r.max_relative_diff);
    s += line;
  }
  if (r.peak_fraction >= 0) {
    std::snprintf(line, sizeof line, "   %.0f %% of peak%s", 100 * r.peak_fraction,
                  r.winograd ? " (direct-convolution MACs; Winograd multiplies less)" : "");
    s += line;
  }
  return s + "\n";
}

}  // namespace

std::string BenchmarkReport::text() const {
  std::ostringstream out;
  out << setup << "\n";
  if (!work.empty()) out << work << "\n";
  if (!inference.empty()) {
    out << "inference per image, host image to host map (targets: exact <= 0.70x with map diff <= 1e-4, fast <= 0.25x):\n";
    for (const auto& r : inference) out << format_row(r);
  }
  if (!training.empty()) {
    out << "training step (target: fast step <= 0.25x naive):\n";
    for (const auto& r : training) out << format_row(r);
  }
  if (!contention_setup.empty()) {
    out << contention_setup << "\n";
    for (const auto& r : contention) out << format_row(r);
  }
  return out.str();
}

namespace {

// What is timed: a model file's networks, or random ones of the asked geometry, and one batch of images.
struct Subject {
  ModelInfo info;
  Networks nets;
  at::Tensor images;  // uint8 NHWC
};

Subject load_subject(const BenchmarkOptions& o) {
  Subject s;
  if (!o.model_path.empty()) {
    detail::LoadedModel m = detail::load_model(o.model_path);
    s.info = m.info;
    s.nets = m.nets;
  } else {
    validate_geometry(o.geometry);
    s.info.geometry = o.geometry;
    s.nets = random_networks(o.geometry);
  }
  s.images = bench_images(s.info.geometry, o.batch);
  if (o.model_path.empty()) {  // quantiles that put the random maps on the usual scale
    const detail::RawMaps raw = detail::reference_maps(s.nets, s.images);
    s.info.quantiles = {at::quantile(raw.st, 0.9).item<float>(), at::quantile(raw.st, 0.995).item<float>(),
                        at::quantile(raw.ae, 0.9).item<float>(), at::quantile(raw.ae, 0.995).item<float>()};
    s.info.threshold = 0.5f;
  }
  return s;
}

// Runs the contenders in turns, so that drift of the machine's speed affects all alike; returns each one's total
// milliseconds over the timed rounds. `before_timing` runs once when the warm-up ends.
std::vector<double> interleaved_rounds(const std::vector<std::function<void()>>& contenders, int warmup, int rounds,
                                       const std::function<void()>& before_timing = {}) {
  std::vector<double> total(contenders.size(), 0.0);
  for (int round = 0; round < warmup + rounds; ++round) {
    if (round == warmup && before_timing) before_timing();
    for (size_t c = 0; c < contenders.size(); ++c) {
      const auto start = Clock::now();
      contenders[c]();
      if (round >= warmup) total[c] += detail::milliseconds_since(start);
    }
  }
  return total;
}

// The CPU's measured rate for convolutions in int8 or in a float dtype; 0 where it was not measured.
double peak_gmacs(const detail::CpuPeak& peak, bool int8, at::ScalarType float_dtype) {
  if (int8) return peak.int8_gmacs;
  return float_dtype == at::kBFloat16 ? peak.bf16_gmacs : peak.fp32_gmacs;
}

// Milliseconds per image if every convolution ran at the CPU's peak for its dtype (the PDNs in int8 or the float
// dtype, ae_int8_macs of the autoencoder's in int8, the rest of it in the float dtype); -1 where a needed peak was
// not measured.
double floor_ms(const detail::NetworkMacs& macs, const detail::CpuPeak& peak, bool pdns_int8,
                at::ScalarType float_dtype, int64_t ae_int8_macs) {
  const double pdn_rate = peak_gmacs(peak, pdns_int8, float_dtype), ae_rate = peak_gmacs(peak, false, float_dtype);
  const double int8_rate = peak_gmacs(peak, true, float_dtype);
  if (pdn_rate <= 0 || ae_rate <= 0 || (ae_int8_macs > 0 && int8_rate <= 0)) return -1;
  const double ae_int8 = ae_int8_macs > 0 ? double(ae_int8_macs) / int8_rate : 0.0;
  return 1e-6 * (double(macs.teacher + macs.student) / pdn_rate + double(macs.autoencoder - ae_int8_macs) / ae_rate +
                 ae_int8);
}

std::string work_line(const detail::NetworkMacs& macs, const detail::CpuPeak& peak, int threads) {
  char line[320];
  std::snprintf(line, sizeof line,
                "work %.2f GMAC per image (teacher %.2f, student %.2f, autoencoder %.2f); CPU peak on %d threads "
                "(AVX-512 register loops): int8 %.0f, bf16 %.0f, fp32 %.0f GMAC/s",
                1e-9 * double(macs.total()), 1e-9 * double(macs.teacher), 1e-9 * double(macs.student),
                1e-9 * double(macs.autoencoder), threads, peak.int8_gmacs, peak.bf16_gmacs, peak.fp32_gmacs);
  return line;
}

// Naive vs exact vs fast inference, host image to host map, with the peak memory of each and its map difference
// and, on the CPU, the fraction of the CPU's peak it reaches.
std::vector<BenchmarkRow> inference_rows(const BenchmarkOptions& o, const Subject& s, Device device,
                                         const detail::NetworkMacs& macs, detail::CpuPeak& peak,
                                         const std::function<void(const std::string&)>& log) {
  const detail::MapComputer exact(s.nets, Mode::Exact, device);
  const detail::MapComputer fast(s.nets, Mode::Fast, device);
  struct Path {
    std::string name;
    std::function<at::Tensor()> combined_map;
    bool pdns_int8;               // the dtypes it runs the convolutions in, for its fraction of the CPU's peak
    at::ScalarType float_dtype;
    bool winograd = false;
    bool decoder_int8 = false;
  };
  std::vector<Path> paths;
  std::unique_ptr<detail::MapComputer> exact_direct;
  if (!o.fast_only) {
    // A straightforward port allocates its tensors from glibc (common/tensor_memory.h).
    paths.push_back({"naive fp32 eager (reference port, memory from glibc)",
                     [&] {
                       return detail::with_glibc_memory(
                           [&] { return naive_combined(detail::reference_maps(s.nets, s.images), s.info); });
                     },
                     false, at::kFloat});
    paths.push_back({"exact (" + exact.precision() + ")",
                     [&] { return optimised_combined(exact.compute(s.images), s.info); }, false, at::kFloat,
                     exact.runs_winograd()});
    paths.push_back({"exact, memory from glibc",
                     [&] {
                       return detail::with_glibc_memory([&] { return optimised_combined(exact.compute(s.images), s.info); });
                     },
                     false, at::kFloat, exact.runs_winograd()});
    if (exact.runs_winograd()) {  // the paper's code's convolutions, for comparison
      exact_direct = std::make_unique<detail::MapComputer>(s.nets, Mode::Exact, device, std::nullopt, Convolutions::Direct);
      paths.push_back({"exact, direct convolutions (" + exact_direct->precision() + ")",
                       [&] { return optimised_combined(exact_direct->compute(s.images), s.info); }, false, at::kFloat});
    }
  }
  paths.push_back({"fast (" + fast.precision() + ")", [&] { return optimised_combined(fast.compute(s.images), s.info); },
                   fast.runs_int8(), fast.float_dtype(), fast.runs_winograd(), fast.runs_int8_decoder()});
  // The int8 decoder is a choice too (--autoencoder): time the float autoencoder beside it.
  std::unique_ptr<detail::MapComputer> fast_float_ae;
  if (fast.runs_int8_decoder()) {
    fast_float_ae = std::make_unique<detail::MapComputer>(s.nets, Mode::Fast, device, std::nullopt,
                                                          Convolutions::Winograd, FastAutoencoder::Float);
    paths.push_back({"fast, float autoencoder (" + fast_float_ae->precision() + ")",
                     [&] { return optimised_combined(fast_float_ae->compute(s.images), s.info); },
                     fast_float_ae->runs_int8(), fast_float_ae->float_dtype(), fast_float_ae->runs_winograd()});
  }
  // Where the CPU has bf16 instructions, fast mode's float dtype is a choice (cpu_bf16_outruns_fp32): time the
  // one not taken as well, so that every run shows whether the choice holds on this CPU.
  std::unique_ptr<detail::MapComputer> fast_other;
  if (device == Device::Cpu && detail::cpu_has_native_bf16() && !o.fast_only) {
    const at::ScalarType other = detail::cpu_bf16_outruns_fp32() ? at::kFloat : at::kBFloat16;
    fast_other = std::make_unique<detail::MapComputer>(s.nets, Mode::Fast, device, other);
    paths.push_back({"fast, not chosen here (" + fast_other->precision() + ")",
                     [&] { return optimised_combined(fast_other->compute(s.images), s.info); }, fast_other->runs_int8(),
                     other, fast_other->runs_winograd()});
  }
  std::vector<at::Tensor> outputs(paths.size());
  std::vector<std::function<void()>> contenders;
  for (size_t p = 0; p < paths.size(); ++p) contenders.push_back([&, p] { outputs[p] = paths[p].combined_map(); });
  std::vector<double> peak_mb(paths.size(), -1.0);
  auto measure_peaks = [&] {  // each alone, warm, so that each peak is its own
    for (size_t p = 0; device == Device::Cpu && p < paths.size(); ++p) {
      peak_mb[p] = peak_added_mb([&] { paths[p].combined_map(); });
    }
  };
  if (log) log("inference benchmark: " + std::to_string(o.warmup) + " warm-up + " + std::to_string(o.iterations) + " rounds");
  // The CPU's peak is measured in every round too, between the contenders, and the best round counts: a peak
  // taken once, before them, caught a disturbed moment (128 % of "peak" for M in one run).
  if (device == Device::Cpu) {
    contenders.push_back([&] { peak = detail::best_of(peak, detail::measure_cpu_peak(at::get_num_threads(), 1)); });
  }
  const std::vector<double> total = interleaved_rounds(contenders, o.warmup, o.iterations, measure_peaks);
  std::vector<BenchmarkRow> rows;
  const bool have_naive = !o.fast_only;  // row 0 then: the yardstick of ratios and map differences
  for (size_t p = 0; p < paths.size(); ++p) {
    BenchmarkRow row{paths[p].name, total[p] / o.iterations / o.batch, -1,
                     have_naive && p > 0 ? max_relative_diff(outputs[p], outputs[0]) : -1, peak_mb[p]};
    if (have_naive) row.ratio = row.mean_ms / (total[0] / o.iterations / o.batch);
    const int64_t ae_int8_macs =
        paths[p].decoder_int8 ? detail::decoder_macs_from(s.nets.geometry, detail::kInt8DecoderFirstLayer) : 0;
    const double floor = floor_ms(macs, peak, paths[p].pdns_int8, paths[p].float_dtype, ae_int8_macs);
    if (device == Device::Cpu && floor > 0) row.peak_fraction = floor / row.mean_ms;
    row.winograd = paths[p].winograd;
    rows.push_back(row);
  }
  return rows;
}

// Fast inference with one core busy: at one thread per core, at one thread, and with the adaptive policy of
// `threads = 0` (which re-applies its own count each call, as the contenders take turns). The warm-up lasts long
// enough for the adaptive count to settle.
std::vector<BenchmarkRow> contention_rows(const BenchmarkOptions& o, const Subject& s, double quiet_fast_ms,
                                          std::string& setup, const std::function<void(const std::string&)>& log) {
  const int usable = detail::usable_cores();
  if (usable < 2) {
    setup = "contention: skipped, this process may use only one core";
    return {};
  }
  const detail::MapComputer fast(s.nets, Mode::Fast, Device::Cpu);
  const detail::BusyCore busy;
  detail::AdaptiveThreads adaptive;
  const std::vector<std::function<void()>> contenders = {
      [&] { detail::set_cpu_threads(usable), fast.compute(s.images); },
      [&] { detail::set_cpu_threads(1), fast.compute(s.images); },
      [&] { detail::set_cpu_threads(1), fast.compute(s.images, usable); },
      [&] {
        detail::set_cpu_threads(adaptive.update());
        fast.compute(s.images, adaptive.side_by_side_threads());
      },
  };
  if (log) log("contention benchmark: a busy process on core " + std::to_string(busy.core()));
  const auto start = Clock::now();
  while (detail::seconds_since(start) < 2.5 * detail::AdaptiveThreads::kIntervalSeconds) {
    interleaved_rounds(contenders, 1, 0);
  }
  const std::vector<double> total = interleaved_rounds(contenders, 0, o.iterations);
  const std::vector<std::string> names = {
      "fast, " + std::to_string(usable) + " threads (fixed)", "fast, 1 thread (fixed)",
      "fast, side by side on " + std::to_string(usable) + " threads" + (fast.runs_side_by_side() ? "" : " (unsupported: 1)"),
      "fast, threads 0 (adaptive: " + std::to_string(adaptive.threads()) + " at the end" +
          (adaptive.side_by_side_threads() ? ", side by side" : "") + ")"};
  std::vector<BenchmarkRow> rows;
  for (size_t c = 0; c < contenders.size(); ++c) {
    const double ms = total[c] / o.iterations / o.batch;
    rows.push_back({names[c], ms, ms / quiet_fast_ms, -1, -1});
  }
  setup = "fast inference per image with core " + std::to_string(busy.core()) +
          " kept busy by another process, ratio to quiet fast (targets: adaptive <= 1.5x and <= the 1-thread time):";
  detail::set_cpu_threads(o.threads);
  return rows;
}

// Naive vs exact vs fast training steps, from the same starting weights; the naive one keeps NCHW fp32 as a
// direct port would.
std::vector<BenchmarkRow> training_rows(const BenchmarkOptions& o, const Subject& s, Device device,
                                        const std::function<void(const std::string&)>& log) {
  const ModelGeometry& g = s.info.geometry;
  Networks naive_nets = random_networks(g), exact_nets = random_networks(g), fast_nets = random_networks(g);
  auto naive_optimizer = detail::make_optimizer(naive_nets);
  for (auto& group : naive_optimizer->param_groups()) {
    for (auto& p : group.params()) p.requires_grad_(true);
  }
  detail::StepRunner exact_runner(exact_nets, Precision::Exact, detail::torch_device(device));
  detail::StepRunner fast_runner(fast_nets, Precision::Fast, detail::torch_device(device));
  detail::StepInputs in;
  in.image = detail::to_unit_float(s.images.narrow(0, 0, 1)).contiguous();
  in.penalty = in.image.flip({3}).contiguous();
  in.augmentation = 2;
  in.factor = 1.1f;
  detail::StepInputs cached = in;
  cached.teacher_target = exact_runner.teacher_output(in.image, true);
  detail::StepInputs cached_bf16 = in;
  cached_bf16.teacher_target = fast_runner.teacher_output(in.image, true).to(at::kBFloat16);

  const std::vector<std::function<void()>> steps = {
      [&] { detail::with_glibc_memory([&] { detail::reference_step(naive_nets, *naive_optimizer, in); }); },
      [&] { exact_runner.step(cached); },
      [&] { fast_runner.step(cached_bf16); },
      [&] { detail::with_glibc_memory([&] { fast_runner.step(cached_bf16); }); },
  };
  const std::string fast_name = std::string("fast step (") + (fast_runner.uses_bf16() ? "bf16" : "fp32") + ", cached, batched";
  const std::vector<std::string> names = {"naive fp32 step (reference port, memory from glibc)",
                                          "exact step (fp32, cached, batched)", fast_name + ")",
                                          fast_name + ", memory from glibc)"};
  const int warmup = std::min(o.warmup, 2);
  if (log) log("training benchmark: " + std::to_string(warmup) + " warm-up + " + std::to_string(o.train_steps) + " rounds");
  const std::vector<double> total = interleaved_rounds(steps, warmup, o.train_steps);
  std::vector<BenchmarkRow> rows;
  for (size_t i = 0; i < steps.size(); ++i) rows.push_back({names[i], total[i] / o.train_steps, total[i] / total[0], -1, -1});
  return rows;
}

}  // namespace

BenchmarkReport run_benchmark(const BenchmarkOptions& o, const std::function<void(const std::string&)>& log) {
  if (o.iterations < 1 || o.warmup < 0 || o.batch < 1 || o.train_steps < 0) {
    throw InvalidArgument("benchmark: iterations and batch must be >= 1, warm-up and training steps >= 0");
  }
  const Device device = detail::resolve_device(o.device);
  detail::set_cpu_threads(o.threads);
  detail::reuse_tensor_memory();  // as a Detector and training do
  const Subject subject = load_subject(o);
  const ModelGeometry& g = subject.info.geometry;
  BenchmarkReport report;
  char setup[256];
  std::snprintf(setup, sizeof setup, "EfficientAD-%s, %dx%d, padding %s, batch %d, %s, %d threads, mean of %d after %d warm-up",
                variant_name(g.variant), g.input_width, g.input_height, g.padding ? "on" : "off", o.batch,
                device_name(device), at::get_num_threads(), o.iterations, o.warmup);
  report.setup = setup;
  const detail::NetworkMacs macs = detail::network_macs(g);
  detail::CpuPeak peak;
  report.inference = inference_rows(o, subject, device, macs, peak, log);
  if (device == Device::Cpu) report.work = work_line(macs, peak, at::get_num_threads());
  if (o.contention && device == Device::Cpu) {
    const auto fast_row = std::find_if(report.inference.begin(), report.inference.end(),
                                       [](const BenchmarkRow& r) { return r.name.rfind("fast (", 0) == 0; });
    const double quiet_fast_ms = fast_row->mean_ms;
    report.contention = contention_rows(o, subject, quiet_fast_ms, report.contention_setup, log);
  }
  if (o.train_steps > 0) report.training = training_rows(o, subject, device, log);
  return report;
}

}  // namespace efficientad
