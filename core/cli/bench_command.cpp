#include <cstdio>

#include "args.h"
#include "commands.h"
#include "efficientad/benchmark.h"

namespace efficientad::cli {

const char* const kBenchUsage =
    "usage: efficientad bench [options]\n"
    "\n"
    "Times inference (naive fp32 port vs exact vs fast) and training steps (naive vs optimised) in one run and\n"
    "prints ratios. Paper method: warm-up, then the mean of many runs.\n"
    "\n"
    "  --variant S|M          network variant (default S)\n"
    "  --input-size N|WxH     network input (default 256)\n"
    "  --padding              PDN padding on\n"
    "  --model MODEL          time this model instead of random weights\n"
    "  --batch N              images per call (default 1)\n"
    "  --iterations N         timed rounds (default 20)\n"
    "  --warmup N             untimed rounds first (default 3)\n"
    "  --train-steps N        timed training steps per contender, 0 to skip (default 5)\n"
    "  --device auto|cpu|cuda (default cpu)\n"
    "  --threads N            CPU threads (default: one per core)\n";

int bench_command(const std::vector<std::string>& argv) {
  const Args args(argv, {"variant", "input-size", "model", "batch", "iterations", "warmup", "train-steps", "device", "threads"},
                  {"padding"});
  if (!args.positionals().empty()) throw UsageError("unexpected argument '" + args.positionals().front() + "'");
  BenchmarkOptions o;
  o.geometry.variant = parse_variant(args.get("variant", "S"));
  parse_size(args.get("input-size", "256"), o.geometry.input_width, o.geometry.input_height);
  o.geometry.padding = args.flag("padding");
  o.model_path = args.get("model");
  o.batch = int(args.get_int("batch", 1, 1, 256));
  o.iterations = int(args.get_int("iterations", 20, 1, 100000));
  o.warmup = int(args.get_int("warmup", 3, 0, 100000));
  o.train_steps = int(args.get_int("train-steps", 5, 0, 100000));
  o.device = parse_device(args.get("device", "cpu"));
  o.threads = int(args.get_int("threads", 0, 0, 1024));
  const BenchmarkReport report = run_benchmark(o, [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); });
  std::fputs(report.text().c_str(), stdout);
  return 0;
}

}  // namespace efficientad::cli
