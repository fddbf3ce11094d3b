#include <chrono>
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "efficientad/distillation.h"
#include "progress_line.h"
#include "training_cli.h"

namespace efficientad::cli {

const char* const kDistillUsage =
    "usage: efficientad distill --backbone SPEC --images DIR --output TEACHER [options]\n"
    "\n"
    "Distils a PDN teacher from a frozen pretrained backbone on natural images (paper Algorithm 3) and writes a\n"
    "teacher file for 'efficientad train --teacher TEACHER'. Progress is checkpointed: after Ctrl-C or a crash the\n"
    "same command resumes, and a larger --steps extends a finished run.\n"
    "\n"
    "  --backbone SPEC        nsfwjs:FOLDER  ImageNet InceptionV3 of npm nsfwjs@4.4.0 (FOLDER = its\n"
    "                                        dist/models/inception_v3; models/fetch-nsfwjs.sh fetches it)\n"
    "                         torchscript:FILE  a module mapping ImageNet-normalised images (512x512 at the\n"
    "                                        default scale) to [N,C,h,w]\n"
    "  --layers L1,L2,...     nsfwjs layers whose features the teacher learns, sharing the 384 channels evenly\n"
    "                         (default mixed2,mixed5: teacher v1); any layer up to mixed5, e.g. mixed0..mixed5\n"
    "  --backbone-scale N     backbone pixels per teacher pixel, 1..4 (default 2: 512x512 for the teacher's\n"
    "                         256x256, as the paper); 4 shrinks a layer's receptive field in teacher pixels 2x\n"
    "  --images DIR           natural images (e.g. ImageNet samples), read and cached once\n"
    "  --output TEACHER       teacher file to write (written whole or not at all)\n"
    "  --variant S|M          teacher architecture (default S)\n"
    "  --steps N              optimiser steps (default 7000, about 2 h on 2 CPU cores; the paper: 60000)\n"
    "  --batch N              crops per step (default 16)\n"
    "  --crop N               crop side in teacher pixels, multiple of 4, 36..256 (default 128; 256 = whole images)\n"
    "  --seed N               random seed (default 42)\n"
    "  --draws N              random draws for the channel normalisation (default 10000, as the paper)\n"
    "  --precision fast|exact fast (default): bf16 autocast where bf16 outruns fp32 on this CPU (AMX, AMD\n"
    "                         AVX512-BF16); exact: fp32\n"
    "  --threads N            CPU threads (default: one per core)\n"
    "  --checkpoint FILE      checkpoint file (default TEACHER.checkpoint)\n"
    "  --checkpoint-every N   steps between checkpoints (default 250)\n"
    "  --restart              ignore an existing checkpoint and start over\n"
    "  --quiet                no progress output\n";

namespace {

// One line per 2 % (logs) or a live line on a terminal.
class DistillProgressPrinter {
 public:
  explicit DistillProgressPrinter(bool quiet) : line_(quiet, 50) {}

  void operator()(const DistillProgress& p) {
    if (!line_.due(int(p.phase), p.step, p.total)) return;
    char text[200];
    if (p.phase == DistillProgress::Phase::Features) {
      std::snprintf(text, sizeof text, "backbone features: image %lld/%lld, ETA %s", (long long)p.step,
                    (long long)p.total, clock_text(p.eta_seconds).c_str());
    } else if (p.phase == DistillProgress::Phase::Training) {
      std::snprintf(text, sizeof text, "distillation: step %lld/%lld, loss %.4f, elapsed %s, ETA %s", (long long)p.step,
                    (long long)p.total, p.loss, clock_text(p.elapsed_seconds).c_str(), clock_text(p.eta_seconds).c_str());
    } else {
      std::snprintf(text, sizeof text, "done in %s", clock_text(p.elapsed_seconds).c_str());
    }
    line_.print(text, p.step == p.total);
  }

 private:
  ProgressLine line_;
};

}  // namespace

int distill_command(const std::vector<std::string>& argv) {
  const Args args(argv,
                  {"backbone", "layers", "backbone-scale", "images", "output", "variant", "steps", "batch", "crop", "seed", "draws", "precision",
                   "threads", "checkpoint", "checkpoint-every"},
                  {"restart", "quiet"});
  if (!args.positionals().empty()) throw UsageError("unexpected argument " + args.positionals().front());
  DistillOptions o;
  o.backbone = args.get("backbone");
  if (args.has("layers")) o.layers = split_list(args.get("layers"));
  o.backbone_scale = int(args.get_int("backbone-scale", o.backbone_scale, 1, 4));
  o.image_folder = args.get("images");
  const std::string output = args.get("output");
  if (o.backbone.empty() || o.image_folder.empty() || output.empty()) {
    throw UsageError("give --backbone SPEC, --images DIR and --output TEACHER");
  }
  o.variant = args.get_parsed("variant", "S", parse_variant);
  o.steps = args.get_int("steps", o.steps, 1, 100000000);
  o.batch = int(args.get_int("batch", o.batch, 1, 256));
  o.crop = int(args.get_int("crop", o.crop, 36, 256));
  o.seed = uint64_t(args.get_int("seed", 42, 0, INT64_MAX));
  o.normalisation_draws = args.get_int("draws", o.normalisation_draws, 1, 100000000);
  o.precision = args.get_parsed("precision", "fast", parse_precision);
  o.threads = int(args.get_int("threads", 0, 0, 1024));
  o.checkpoint_path = args.get("checkpoint");
  o.checkpoint_every = args.get_int("checkpoint-every", o.checkpoint_every, 1, 100000000);
  o.restart = args.flag("restart");
  const bool quiet = args.flag("quiet");

  DistillProgressPrinter printer(quiet);
  auto warn = [](const std::string& message) { std::fprintf(stderr, "WARNING: %s\n", message.c_str()); };
  const DistillResult r = distill_teacher(o, output, std::ref(printer), interrupt_flag(), warn);
  if (r.resumed_at > 0) std::printf("resumed from the checkpoint at step %lld\n", (long long)r.resumed_at);
  std::printf("wrote %s: EfficientAD-%s teacher, %lld steps on %lld images, final loss %.4f (%s this run)\n",
              output.c_str(), variant_name(o.variant), (long long)r.steps, (long long)r.images, r.final_loss,
              clock_text(r.seconds).c_str());
  return 0;
}

}  // namespace efficientad::cli
