#include <cstdio>

#include "args.h"
#include "commands.h"
#include "efficientad/benchmark.h"
#include "efficientad/errors.h"

namespace efficientad::cli {

const char* const kBenchUsage =
    "usage: efficientad bench [options]\n"
    "\n"
    "Times inference (naive fp32 port vs exact vs fast) and training steps (naive vs optimised) in one run and\n"
    "prints ratios. Paper method: warm-up, then the mean of many runs; latency with batch 1, throughput with\n"
    "larger batches, from host image to host map; peak memory per call on the CPU.\n"
    "Lists run every combination, e.g. --variant S,M --batch 1,16 --device cpu,cuda (the paper's table).\n"
    "\n"
    "  --variant S|M[,..]     network variants (default S)\n"
    "  --input-size N|WxH[,..] network inputs (default 256)\n"
    "  --padding              PDN padding on\n"
    "  --model MODEL          time this model instead of random weights\n"
    "  --batch N[,..]         images per call (default 1)\n"
    "  --iterations N         timed rounds (default 20)\n"
    "  --warmup N             untimed rounds first (default 3)\n"
    "  --train-steps N        timed training steps per contender, 0 to skip (default 5)\n"
    "  --device D[,..]        auto, cpu or cuda (default cpu); a device this machine lacks is reported and skipped\n"
    "  --threads N            CPU threads (default: one per core)\n"
    "  --fast-only            time fast inference alone: no naive or exact row, no ratios (large inputs and\n"
    "                         batches, e.g. --input-size 256,512,1024 --batch 1,4,16 --train-steps 0)\n"
    "  --contention           also time fast inference while another process keeps one core busy: at one\n"
    "                         thread per core, at 1 thread and with the detector's adaptive default (CPU)\n";

int bench_command(const std::vector<std::string>& argv) {
  const Args args(argv, {"variant", "input-size", "model", "batch", "iterations", "warmup", "train-steps", "device", "threads"},
                  {"padding", "contention", "fast-only"});
  if (!args.positionals().empty()) throw UsageError("unexpected argument '" + args.positionals().front() + "'");
  BenchmarkOptions o;
  o.geometry.padding = args.flag("padding");
  o.model_path = args.get("model");
  o.iterations = int(args.get_int("iterations", 20, 1, 100000));
  o.warmup = int(args.get_int("warmup", 3, 0, 100000));
  const int train_steps = int(args.get_int("train-steps", 5, 0, 100000));
  o.threads = int(args.get_int("threads", 0, 0, 1024));
  o.contention = args.flag("contention");
  o.fast_only = args.flag("fast-only");
  const auto variants = split_list(args.get("variant", "S"));
  const auto batches = split_list(args.get("batch", "1"));
  const auto devices = split_list(args.get("device", "cpu"));
  const auto sizes = split_list(args.get("input-size", "256"));
  for (const auto& size : sizes) parse_size(size, o.geometry.input_width, o.geometry.input_height);  // all first
  if (!o.model_path.empty() && sizes.size() > 1) throw UsageError("--model fixes the input size: give one --input-size");
  if (!o.model_path.empty() && variants.size() > 1) throw UsageError("--model fixes the variant: give one --variant");
  for (const auto& device : devices) usage_checked("--device", device, parse_device);  // all before the first run
  for (const auto& variant : variants) usage_checked("--variant", variant, parse_variant);

  const auto log = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
  for (const auto& device : devices) {
    o.device = usage_checked("--device", device, parse_device);
    for (const auto& variant : variants) {
      o.geometry.variant = usage_checked("--variant", variant, parse_variant);
      for (const auto& size : sizes) {
        parse_size(size, o.geometry.input_width, o.geometry.input_height);
        for (size_t b = 0; b < batches.size(); ++b) {
          o.batch = int(parse_int(batches[b], "--batch", 1, 256));
          o.train_steps = b == 0 ? train_steps : 0;  // training steps do not depend on the inference batch
          try {
            std::fputs(run_benchmark(o, log).text().c_str(), stdout);
            std::fputs("\n", stdout);
          } catch (const DeviceError& e) {
            std::printf("device %s skipped: %s\n\n", device.c_str(), e.what());
            break;
          }
          std::fflush(stdout);
        }
      }
    }
  }
  return 0;
}

}  // namespace efficientad::cli
