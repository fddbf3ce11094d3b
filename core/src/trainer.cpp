// Algorithm 1 end to end: data split, teacher statistics, the training loop, quantiles, threshold, model file.
#include "efficientad/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <numeric>
#include <random>

#include "atomic_file.h"
#include "config.h"
#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "image_ops.h"
#include "inference.h"
#include "quantile.h"
#include "training.h"

namespace efficientad {

const char* phase_name(TrainProgress::Phase phase) {
  switch (phase) {
    case TrainProgress::Phase::TeacherStatistics: return "teacher statistics";
    case TrainProgress::Phase::Training: return "training";
    case TrainProgress::Phase::Calibration: return "calibration";
    case TrainProgress::Phase::Done: return "done";
  }
  return "?";
}

TrainingSet::TrainingSet(int input_width, int input_height) : width_(input_width), height_(input_height) {
  validate_geometry(ModelGeometry{Variant::Small, input_width, input_height, false});
}

void TrainingSet::add(const ImageView& image, const std::string& name) {
  images_.push_back(detail::to_network_input(image, width_, height_));
  names_.push_back(name.empty() ? "frame " + std::to_string(images_.size()) : name);
}

size_t TrainingSet::add_folder(const std::string& folder) {
  const std::vector<std::string> files = list_image_files(folder);
  if (files.empty()) {
    throw InvalidArgument("no images (.png, .jpg, .jpeg, .bmp, .tif) in folder " + folder);
  }
  for (const auto& file : files) add(load_image(file).view(), file);
  return files.size();
}

namespace detail {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kCalibrationImages = 24;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

at::Tensor unit_tensor(const Image& rgb) {  // packed RGB -> [1, 3, H, W] in [0, 1]
  const uint8_t* pixels = rgb.data();
  return to_unit_float(pack_batch({pixels}, rgb.width(), rgb.height()));
}

void check_cancel(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load()) throw Cancelled("training cancelled; no model file was written");
}

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// Natural images for the pretraining penalty (line 21 and paper A.1): resized to twice the input size, grey with
// probability 0.3, centre crop. Read lazily, one per step, so that a folder of any size costs no start-up time.
class PenaltyImages {
 public:
  PenaltyImages(const std::string& folder, int width, int height, const WarningCallback& warn)
      : width_(width), height_(height), warn_(warn) {
    if (folder.empty()) return;
    files_ = list_image_files(folder);
    if (files_.empty()) throw InvalidArgument("no images in the penalty image folder " + folder);
  }
  bool enabled() const { return !files_.empty(); }
  size_t count() const { return files_.size(); }

  at::Tensor draw(std::mt19937_64& rng) {
    while (!files_.empty()) {
      const size_t index = std::uniform_int_distribution<size_t>(0, files_.size() - 1)(rng);
      try {
        const Image large = to_network_input(load_image(files_[index]).view(), 2 * width_, 2 * height_);
        const ImageView centre = large.view().crop(width_ / 2, height_ / 2, width_, height_);
        at::Tensor x = unit_tensor(to_network_input(centre, width_, height_));
        if (std::bernoulli_distribution(0.3)(rng)) x = to_grayscale(x).contiguous();
        return x;
      } catch (const ImageError& e) {  // one bad file must not end hours of training
        if (warn_) warn_(std::string("skipping unreadable penalty image: ") + e.what());
        files_.erase(files_.begin() + long(index));
      }
    }
    throw InvalidArgument("none of the penalty images could be read");
  }

 private:
  int width_, height_;
  WarningCallback warn_;
  std::vector<std::string> files_;
};

struct Split {
  std::vector<size_t> train, validation;
};

Split split_images(size_t count, double validation_fraction, std::mt19937_64& rng) {
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  size_t held_out = std::max<size_t>(1, size_t(std::ceil(validation_fraction * double(count))));
  held_out = std::min(held_out, count - 1);
  Split split;
  split.validation.assign(order.begin(), order.begin() + long(held_out));
  split.train.assign(order.begin() + long(held_out), order.end());
  return split;
}

void validate_options(const TrainingSet& images, const TrainOptions& o) {
  validate_geometry(o.geometry);
  if (images.input_width() != o.geometry.input_width || images.input_height() != o.geometry.input_height) {
    throw InvalidArgument("the training set was prepared for " + std::to_string(images.input_width()) + "x" +
                          std::to_string(images.input_height()) + " but the model input is " +
                          std::to_string(o.geometry.input_width) + "x" + std::to_string(o.geometry.input_height));
  }
  if (images.size() < 2) {
    throw InvalidArgument("training needs at least 2 normal images (one is held out for calibration); got " +
                          std::to_string(images.size()));
  }
  if (o.steps < 1) throw InvalidArgument("the number of training steps must be at least 1");
  if (!(o.validation_fraction > 0.0 && o.validation_fraction <= 0.5)) {
    throw InvalidArgument("the held-out fraction must lie in (0, 0.5]");
  }
  if (o.teacher_cache_mb < 0) throw InvalidArgument("the teacher cache size cannot be negative");
}

}  // namespace

}  // namespace detail

TrainResult train_model(const TrainingSet& images, const TrainOptions& options, const std::string& output_path,
                        const ProgressCallback& progress, const std::atomic<bool>* cancel, const WarningCallback& warn) {
  using namespace detail;
  const auto start = Clock::now();
  validate_options(images, options);
  check_can_write(output_path);
  const Device device = resolve_device(options.device);
  const at::Device torch_dev = torch_device(device);
  set_cpu_threads(options.threads);
  const ModelGeometry& g = options.geometry;

  std::mt19937_64 rng(options.seed);
  at::manual_seed(options.seed);
  const Split split = split_images(images.size(), options.validation_fraction, rng);

  Networks nets;
  nets.geometry = g;
  std::string teacher_origin;
  if (options.teacher_path.empty()) {
    nets.teacher = make_pdn(g.variant, kTeacherChannels, g.padding);
    teacher_origin = "random (seed " + std::to_string(options.seed) + ")";
    if (warn) {
      warn("NO PRETRAINED TEACHER: training with a randomly initialised teacher (the model records this). Detection "
           "works, but localises defects worse than with a distilled teacher (models/README.md); for EfficientAD-S "
           "use the shipped one (--teacher shipped), or make one with 'efficientad distill' or 'import-teacher'.");
    }
  } else {
    LoadedTeacher t = load_teacher(options.teacher_path, g.variant, g.padding);
    nets.teacher = std::move(t.teacher);
    teacher_origin = t.origin;
  }
  nets.student = make_pdn(g.variant, 2 * kTeacherChannels, g.padding);
  nets.autoencoder = make_autoencoder(g);
  PenaltyImages penalty(options.penalty_folder, g.input_width, g.input_height, warn);
  StepRunner runner(nets, options.precision, torch_dev);

  // Progress: the statistics pass costs about one teacher forward per image, a step about ten.
  const double total_work = double(split.train.size()) * 0.1 + double(options.steps) + double(split.validation.size()) * 0.2;
  auto report = [&](TrainProgress p, double work_done) {
    p.elapsed_seconds = seconds_since(start);
    p.eta_seconds = work_done > 0 ? p.elapsed_seconds * (total_work - work_done) / work_done : 0;
    if (progress) progress(p);
  };

  // Lines 3-10: per-channel mean and standard deviation of the teacher's outputs on the training images. The
  // outputs are kept (within the cache budget) because the un-augmented images are the same at every step.
  const size_t target_bytes = size_t(kTeacherChannels) * g.feature_width() * g.feature_height() *
                              (runner.uses_bf16() ? 2 : 4);
  const size_t cache_limit = size_t(options.teacher_cache_mb) * 1024 * 1024 / target_bytes;
  std::vector<at::Tensor> cache(images.size());
  {
    at::Tensor sum = at::zeros({kTeacherChannels}, at::kDouble), sum_sq = at::zeros({kTeacherChannels}, at::kDouble);
    int64_t count = 0;
    for (size_t i = 0; i < split.train.size(); ++i) {
      check_cancel(cancel);
      const size_t index = split.train[i];
      const at::Tensor raw = runner.teacher_output(unit_tensor(images.image(index)), false).to(at::kCPU);
      const at::Tensor values = raw.to(at::kDouble).transpose(0, 1).reshape({kTeacherChannels, -1});
      sum += values.sum(1);
      sum_sq += values.pow(2).sum(1);
      count += values.size(1);
      if (i < cache_limit) cache[index] = raw;
      TrainProgress p;
      p.phase = TrainProgress::Phase::TeacherStatistics;
      p.step = int64_t(i) + 1;
      p.total = int64_t(split.train.size());
      report(p, 0.1 * double(i + 1));
    }
    const at::Tensor mean = sum / double(count);
    const at::Tensor var = (sum_sq / double(count) - mean.pow(2)).clamp_min(0);
    nets.teacher_mean = mean.to(at::kFloat);
    nets.teacher_std = var.sqrt().to(at::kFloat).clamp_min(1e-6f);  // a dead channel must not divide by zero
    const auto m = nets.teacher_mean.to(torch_dev).view({1, -1, 1, 1});
    const auto s = nets.teacher_std.to(torch_dev).view({1, -1, 1, 1});
    for (auto& t : cache) {
      if (t.defined()) t = ((t.to(torch_dev) - m) / s).to(runner.uses_bf16() ? at::kBFloat16 : at::kFloat);
    }
  }
  nets.teacher_mean = nets.teacher_mean.to(torch_dev);
  nets.teacher_std = nets.teacher_std.to(torch_dev);

  // Lines 11-43.
  const int64_t decay_step = int64_t(0.95 * double(options.steps));
  std::vector<size_t> order;
  size_t next = 0;
  std::uniform_int_distribution<int> pick_augmentation(1, 3);
  std::uniform_real_distribution<float> pick_factor(0.8f, 1.2f);
  std::vector<float> recent_losses;
  const auto loop_start = Clock::now();
  for (int64_t step = 0; step < options.steps; ++step) {
    check_cancel(cancel);
    if (step == decay_step) runner.set_learning_rate(0.1 * kLearningRate);
    if (next == order.size()) {  // a new epoch in a new random order
      order = split.train;
      std::shuffle(order.begin(), order.end(), rng);
      next = 0;
    }
    const size_t index = order[next++];
    StepInputs in;
    in.image = unit_tensor(images.image(index));
    in.teacher_target = cache[index];
    in.augmentation = pick_augmentation(rng);
    in.factor = pick_factor(rng);
    if (penalty.enabled()) in.penalty = penalty.draw(rng);
    const StepLosses losses = runner.step(in);
    if (!std::isfinite(losses.total)) {
      throw Error("training diverged at step " + std::to_string(step + 1) + " (loss is not finite); try --precision exact");
    }
    recent_losses.push_back(losses.total);
    if (recent_losses.size() > 100) recent_losses.erase(recent_losses.begin());

    TrainProgress p;
    p.phase = TrainProgress::Phase::Training;
    p.step = step + 1;
    p.total = options.steps;
    p.loss_total = losses.total;
    p.loss_st = losses.st;
    p.loss_ae = losses.ae;
    p.loss_stae = losses.stae;
    p.images_per_second = double(step + 1) / seconds_since(loop_start);
    report(p, 0.1 * double(split.train.size()) + double(step + 1));
  }
  cache.clear();

  // Activation ranges for the int8 inference path, from held-out and training images.
  {
    std::vector<size_t> chosen = split.validation;
    chosen.insert(chosen.end(), split.train.begin(), split.train.end());
    chosen.resize(std::min(chosen.size(), kCalibrationImages));
    std::vector<at::Tensor> sample;
    for (size_t i : chosen) sample.push_back(unit_tensor(images.image(i)));
    runner.calibrate_activations(at::cat(sample));
  }

  // Lines 44-57 on the held-out images, in exact fp32, with the maps resized to the network input size (line 52).
  ModelInfo info;
  info.geometry = g;
  std::vector<at::Tensor> st_maps, ae_maps;
  {
    MapComputer exact(nets, Mode::Exact, device);
    std::vector<float> st_values, ae_values;
    for (size_t i = 0; i < split.validation.size(); ++i) {
      check_cancel(cancel);
      const Image& image = images.image(split.validation[i]);
      const uint8_t* pixels = image.data();
      const RawMaps raw = exact.compute(pack_batch({pixels}, g.input_width, g.input_height));
      st_maps.push_back(raw.st);
      ae_maps.push_back(raw.ae);
      for (const auto& [map, values] : {std::pair{raw.st, &st_values}, std::pair{raw.ae, &ae_values}}) {
        const at::Tensor resized =
            at::upsample_bilinear2d(map.unsqueeze(1), {g.input_height, g.input_width}, false).contiguous();
        values->insert(values->end(), resized.data_ptr<float>(), resized.data_ptr<float>() + resized.numel());
      }
      TrainProgress p;
      p.phase = TrainProgress::Phase::Calibration;
      p.step = int64_t(i) + 1;
      p.total = int64_t(split.validation.size());
      report(p, 0.1 * double(split.train.size()) + double(options.steps) + 0.2 * double(i + 1));
    }
    info.quantiles.st_a = float(quantile(st_values, 0.9));
    info.quantiles.st_b = float(quantile(st_values, 0.995));
    info.quantiles.ae_a = float(quantile(ae_values, 0.9));
    info.quantiles.ae_b = float(quantile(ae_values, 0.995));
  }
  if (!(info.quantiles.st_b > info.quantiles.st_a) || !(info.quantiles.ae_b > info.quantiles.ae_a)) {
    throw Error("the held-out images give degenerate map quantiles (all maps equal); use more varied normal images");
  }

  // The default threshold: the highest held-out normal score plus two standard deviations of those scores, so
  // that none of the normal images seen so far is flagged and some unseen normal variation is tolerated.
  TrainResult result;
  for (size_t i = 0; i < st_maps.size(); ++i) {
    result.validation_scores.push_back(finish_detection(st_maps[i].data_ptr<float>(), ae_maps[i].data_ptr<float>(),
                                                        info, g.input_width, g.input_height, false, 0.0f)
                                           .score);
  }
  const auto& scores = result.validation_scores;
  const double mean = std::accumulate(scores.begin(), scores.end(), 0.0) / double(scores.size());
  double var = 0;
  for (float s : scores) var += (s - mean) * (s - mean);
  info.validation.mean = float(mean);
  info.validation.stddev = float(std::sqrt(var / double(scores.size())));
  info.validation.max = *std::max_element(scores.begin(), scores.end());
  info.threshold = info.validation.max + 2.0f * info.validation.stddev;

  auto& prov = info.provenance;
  prov.steps = options.steps;
  prov.train_images = int64_t(split.train.size());
  prov.validation_images = int64_t(split.validation.size());
  prov.penalty_images = int64_t(penalty.count());
  prov.teacher_origin = teacher_origin;
  prov.teacher_random = options.teacher_path.empty();
  prov.precision = runner.uses_bf16() ? "fast (bf16 autocast)" : options.precision == Mode::Fast ? "fast (fp32: no native bf16)" : "exact (fp32)";
  prov.seed = options.seed;
  prov.created = utc_now();
  prov.library_version = EFFICIENTAD_VERSION;
  prov.train_seconds = seconds_since(start);
  prov.final_loss = std::accumulate(recent_losses.begin(), recent_losses.end(), 0.0) / double(recent_losses.size());

  check_cancel(cancel);
  save_model(output_path, nets, info);
  result.info = read_model_info(output_path);  // what was written, with its id
  TrainProgress done;
  done.phase = TrainProgress::Phase::Done;
  report(done, total_work);
  return result;
}

}  // namespace efficientad
