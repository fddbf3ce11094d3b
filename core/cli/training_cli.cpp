#include "training_cli.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "efficientad/errors.h"
#include "efficientad/teacher.h"
#include "progress_line.h"

namespace efficientad::cli {

const std::set<std::string> kTrainingOptionNames = {"variant", "steps", "input-size", "teacher", "penalty", "penalty-images",
                                                    "precision", "seed", "holdout", "device", "threads", "cache-mb",
                                                    "schedule", "learning-rate"};
const std::set<std::string> kTrainingFlagNames = {"padding", "quiet"};
const char* const kTrainingOptionsUsage =
    "  --variant S|M          EfficientAD-S (default) or -M\n"
    "  --steps N              training steps (default 1000; the paper uses 70000)\n"
    "  --input-size N|WxH|auto[:PIXELS]  network input in pixels, 256..2048 per side (default 256); auto: the\n"
    "                         training images' median aspect ratio at about PIXELS (default 65536 = 256x256; the\n"
    "                         short side stays >= 256, so long parts get more), maps still at each image's size\n"
    "  --padding              PDN zero padding on (default off, as the paper's reported results)\n"
    "  --teacher auto|shipped|random|FILE  auto (default): the shipped teacher where one ships (S:\n"
    "                         models/teacher_s.efad, distilled here), else a random one (M); shipped: that teacher\n"
    "                         or an error; random: a random teacher (recorded in the model; better image AUROC on\n"
    "                         battery_weld, see models/README.md); FILE: a teacher file (distill, import-teacher)\n"
    "  --penalty off|dead-leaves  the pretraining penalty's images without --penalty-images: procedural dead\n"
    "                         leaves (occluding shapes at every scale), or no penalty (default off)\n"
    "  --penalty-images DIR   natural images (e.g. ImageNet samples, the paper's) for the pretraining penalty\n"
    "  --precision fast|exact fast (default): bf16 autocast where bf16 outruns fp32 on this CPU (AMX, AMD\n"
    "                         AVX512-BF16), and the teacher outputs cached in bf16; exact: fp32\n"
    "  --schedule paper|cosine learning rate over the steps: paper (default): Adam at 1e-4, a tenth of it for the\n"
    "                         last 5 % (Algorithm 1); cosine: 5 % warm-up to a higher peak, then a cosine decay\n"
    "  --learning-rate R      the schedule's peak (default: paper 1e-4, cosine 5e-4)\n"
    "  --seed N               random seed (default 42)\n"
    "  --holdout F            fraction of images held out for calibration (default 0.1)\n"
    "  --device auto|cpu|cuda where to train (default auto)\n"
    "  --threads N            CPU threads (default: one per core)\n"
    "  --cache-mb N           memory for cached teacher outputs (default 2048)\n"
    "  --quiet                no progress bar\n";

namespace {

std::atomic<bool> interrupted{false};

void on_signal(int) { interrupted = true; }

}  // namespace

const std::atomic<bool>* interrupt_flag() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  return &interrupted;
}

std::string clock_text(double seconds) {
  const long s = long(seconds + 0.5);
  char buffer[32];
  if (s >= 3600) {
    std::snprintf(buffer, sizeof buffer, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%ldm%02lds", s / 60, s % 60);
  }
  return buffer;
}

namespace {

// A one-line progress bar on a terminal; otherwise a line every 5 % (logs, CI).
class TrainingProgressPrinter {
 public:
  explicit TrainingProgressPrinter(bool quiet) : line_(quiet, 20) {}

  void operator()(const TrainProgress& p) {
    if (!line_.due(int(p.phase), p.step, p.total)) return;
    const double fraction = p.total > 0 ? double(p.step) / double(p.total) : 1.0;
    char text[256];
    std::string bar(size_t(fraction * 24), '#');
    bar.resize(24, '.');
    if (p.phase == TrainProgress::Phase::Training) {
      std::snprintf(text, sizeof text, "%-11s [%s] %3d%% step %lld/%lld loss %.4f (st %.4f ae %.4f stae %.4f) %.2f img/s ETA %s",
                    phase_name(p.phase), bar.c_str(), int(fraction * 100), (long long)p.step, (long long)p.total,
                    p.loss_total, p.loss_st, p.loss_ae, p.loss_stae, p.images_per_second, clock_text(p.eta_seconds).c_str());
    } else if (p.phase == TrainProgress::Phase::Done) {
      std::snprintf(text, sizeof text, "done in %s", clock_text(p.elapsed_seconds).c_str());
    } else {
      std::snprintf(text, sizeof text, "%-11s [%s] %3d%% image %lld/%lld ETA %s", phase_name(p.phase), bar.c_str(),
                    int(fraction * 100), (long long)p.step, (long long)p.total, clock_text(p.eta_seconds).c_str());
    }
    line_.print(text, p.step == p.total || p.phase == TrainProgress::Phase::Done);
  }

 private:
  ProgressLine line_;
};

}  // namespace

namespace {

// N, WxH, or auto[:PIXELS] (the training images' aspect ratio at about PIXELS, default 256x256 of them).
void parse_input_size(const std::string& text, TrainOptions& options) {
  if (text.rfind("auto", 0) != 0) {
    parse_size(text, options.geometry.input_width, options.geometry.input_height);
    return;
  }
  options.aspect_input_pixels = int64_t(kMinInputSide) * kMinInputSide;
  if (text == "auto") return;
  char* end = nullptr;
  const long long pixels = text[4] == ':' ? std::strtoll(text.c_str() + 5, &end, 10) : 0;
  if (text[4] != ':' || *end != '\0' || pixels < int64_t(kMinInputSide) * kMinInputSide ||
      pixels > int64_t(kMaxInputSide) * kMaxInputSide) {
    throw UsageError("--input-size '" + text + "': use auto or auto:PIXELS with PIXELS from " +
                     std::to_string(kMinInputSide * kMinInputSide) + " to " +
                     std::to_string(kMaxInputSide * kMaxInputSide) + " (e.g. auto:102400)");
  }
  options.aspect_input_pixels = pixels;
}

}  // namespace

TrainOptions training_options_from(const Args& args) {
  TrainOptions options;
  options.geometry.variant = args.get_parsed("variant", "S", parse_variant);
  parse_input_size(args.get("input-size", "256"), options);
  options.geometry.padding = args.flag("padding");
  options.steps = args.get_int("steps", 1000, 1, 100000000);
  try {
    options.teacher_path = teacher_path_for(args.get("teacher", kDefaultTeacher), options.geometry.variant);
  } catch (const efficientad::InvalidArgument& e) {
    throw UsageError(e.what());
  }
  options.penalty_folder = args.get("penalty-images");
  options.penalty = args.get_parsed("penalty", penalty_name(options.penalty), parse_penalty);
  if (options.penalty == Penalty::Off && args.has("penalty") && !options.penalty_folder.empty()) {
    throw UsageError("--penalty off and --penalty-images contradict each other: give one");
  }
  options.precision = args.get_parsed("precision", "fast", parse_precision);
  options.schedule = args.get_parsed("schedule", "paper", parse_schedule);
  options.learning_rate = args.get_double("learning-rate", 0);
  if (!(options.learning_rate >= 0 && options.learning_rate <= 0.01)) {
    throw UsageError("--learning-rate must be from 0 (the schedule's default) to 0.01");
  }
  options.seed = uint64_t(args.get_int("seed", 42, 0, INT64_MAX));
  options.validation_fraction = args.get_double("holdout", 0.1);
  options.device = args.get_parsed("device", "auto", parse_device);
  options.threads = int(args.get_int("threads", 0, 0, 1024));
  options.teacher_cache_mb = args.get_int("cache-mb", 2048, 0, 1 << 24);
  try {
    validate_geometry(options.geometry);
  } catch (const InvalidArgument& e) {
    throw UsageError(std::string("--input-size: ") + e.what());
  }
  return options;
}

TrainResult train_from_folders(const std::vector<std::string>& folders, const TrainOptions& requested,
                               const std::string& output, bool quiet) {
  // The images wait next to the model: the folder the user chose for the output has to take files anyway.
  TrainOptions options = requested;
  if (const double aspect = choose_input_size(options, folders); aspect > 0 && !quiet) {
    std::fprintf(stderr, "input size %dx%d (the training images' median aspect ratio %.2f)\n",
                 options.geometry.input_width, options.geometry.input_height, aspect);
  }
  const std::string model_folder = std::filesystem::absolute(output).parent_path().string();
  TrainingSet images(options.geometry.input_width, options.geometry.input_height, model_folder);
  for (const auto& folder : folders) {
    const size_t n = images.add_folder(folder);
    if (!quiet) std::fprintf(stderr, "loaded %zu images from %s\n", n, folder.c_str());
  }

  const std::atomic<bool>* cancel = interrupt_flag();
  TrainingProgressPrinter printer(quiet);
  auto warn = [](const std::string& message) { std::fprintf(stderr, "WARNING: %s\n", message.c_str()); };
  const TrainResult result = train_model(images, options, output, std::ref(printer), cancel, warn);

  const ModelInfo& info = result.info;
  std::printf("wrote %s (model id %s)\n", output.c_str(), info.model_id.c_str());
  std::printf("threshold %.4f (held-out normal scores: mean %.4f, max %.4f over %lld images)\n", info.threshold,
              info.validation.mean, info.validation.max, (long long)info.provenance.validation_images);
  if (info.int8_threshold) {
    std::printf("int8 threshold %.4f for fast mode on a CPU (the same images' int8 scores: mean %.4f, max %.4f)\n",
                *info.int8_threshold, info.int8_validation.mean, info.int8_validation.max);
  }
  if (info.provenance.teacher_random) std::printf("note: trained with a RANDOM teacher (%s)\n", info.provenance.teacher_origin.c_str());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("peak resident memory %ld MB for %zu images\n", usage.ru_maxrss / 1024, images.size());
  return result;
}

}  // namespace efficientad::cli
