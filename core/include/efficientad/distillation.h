// Teacher distillation (paper Algorithm 3): a PDN teacher learns to reproduce the features of a frozen
// pretrained backbone on natural images. The result is a teacher file for `train --teacher`.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "efficientad/model.h"
#include "efficientad/trainer.h"

namespace efficientad {

struct DistillOptions {
  Variant variant = Variant::Small;
  std::string backbone;       // "nsfwjs:FOLDER" or "torchscript:FILE" (see README)
  std::vector<std::string> layers;  // nsfwjs layers giving the targets (empty: mixed2 + mixed5, teacher v1)
  int backbone_scale = 2;     // backbone pixels per teacher pixel (Algorithm 3: 512 for a 256 teacher input)
  std::string image_folder;   // natural images, e.g. ImageNet samples
  int64_t steps = 7000;       // ~2 h on 2 CPU cores (the shipped teacher); the paper: 60 000 of 16 full images
  int batch = 16;             // crops per step
  int crop = 128;             // teacher input side of a crop, 36..256, a multiple of 4 (256 = whole images)
  uint64_t seed = 42;
  int64_t normalisation_draws = 10000;  // Algorithm 3 lines 2-12
  Precision precision = Precision::Fast;  // Fast: bf16 autocast where bf16 outruns fp32; Exact: fp32
  int threads = 0;                      // 0 = one per core
  std::string checkpoint_path;          // empty: <output>.checkpoint
  int64_t checkpoint_every = 250;       // steps
  bool restart = false;                 // ignore an existing checkpoint instead of resuming from it
};

struct DistillProgress {
  enum class Phase { Features, Training, Done };
  Phase phase = Phase::Features;
  int64_t step = 0, total = 0;  // images (Features) or steps (Training)
  float loss = 0;               // mean over the last 50 steps
  double eta_seconds = 0, elapsed_seconds = 0;
};

struct DistillResult {
  int64_t steps = 0, resumed_at = 0;  // resumed_at: the checkpoint's step, 0 for a fresh start
  int64_t images = 0;
  float final_loss = 0;               // mean over the last 50 steps
  double seconds = 0;                 // this run only
  std::string origin;                 // the provenance written into the teacher file
};

// Reads every image of the folder, caches the backbone's targets (colour and grey versions), derives the channel
// normalisation from `normalisation_draws` random draws, then trains. A checkpoint is written every
// `checkpoint_every` steps, when cancelled and at the end; a later call with the same settings resumes from it
// (a larger `steps` extends a finished run). The teacher file is written atomically at the end.
// Throws InvalidArgument (options, folder), ModelFileError (backbone, checkpoint of other settings or corrupt),
// IoError, Cancelled (after saving a checkpoint).
DistillResult distill_teacher(const DistillOptions& options, const std::string& output_path,
                              const std::function<void(const DistillProgress&)>& progress = {},
                              const std::atomic<bool>* cancel = nullptr, const WarningCallback& warn = {});

}  // namespace efficientad
