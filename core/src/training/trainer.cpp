// Algorithm 1 end to end, one method per phase (as anomalib's lightning model): data split, teacher statistics,
// the training loop, int8 activation ranges, map quantiles, threshold, model file.
#include "efficientad/trainer.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <numeric>
#include <random>

#include "common/atomic_file.h"
#include "common/device.h"
#include "common/tensor_memory.h"
#include "common/loss_window.h"
#include "common/timing.h"
#include "config.h"
#include "efficientad/errors.h"
#include "image/image_tensors.h"
#include "inference/detection.h"
#include "inference/map_computer.h"
#include "training/penalty_images.h"
#include "training/quantile.h"
#include "training/schedule.h"
#include "training/train_step.h"

namespace efficientad {

namespace detail {

namespace {

constexpr size_t kCalibrationImages = 24;
constexpr size_t kLossWindowSteps = 100;

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
  if (!(o.learning_rate >= 0 && o.learning_rate <= 0.01)) {
    throw InvalidArgument("the learning rate must be from 0 (the schedule's default) to 0.01");
  }
  if (!(o.validation_fraction > 0.0 && o.validation_fraction <= 0.5)) {
    throw InvalidArgument("the held-out fraction must lie in (0, 0.5]");
  }
  if (o.teacher_cache_mb < 0) throw InvalidArgument("the teacher cache size cannot be negative");
}

// Mean and population standard deviation.
std::pair<double, double> mean_and_stddev(const std::vector<float>& values) {
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
  double var = 0;
  for (float v : values) var += (v - mean) * (v - mean);
  return {mean, std::sqrt(var / double(values.size()))};
}

// One training run. The phases run in the order of Algorithm 1 and draw from the generators in a fixed order, so
// that a seed reproduces a model.
class Trainer {
 public:
  Trainer(const TrainingSet& images, const TrainOptions& options, const ProgressCallback& progress,
          const std::atomic<bool>* cancel, const WarningCallback& warn)
      : images_(images), o_(options), g_(options.geometry), progress_(progress), cancel_(cancel), warn_(warn),
        start_(Clock::now()), device_(resolve_device(options.device)), torch_device_(torch_device(device_)),
        rng_(options.seed) {
    set_cpu_threads(options.threads);
    reuse_tensor_memory();
    at::manual_seed(options.seed);
    split_ = split_images(images.size(), options.validation_fraction, rng_);
    build_networks();
    penalty_ = std::make_unique<PenaltyImages>(options.penalty_folder, options.penalty, g_.input_width,
                                               g_.input_height, warn);
    runner_ = std::make_unique<StepRunner>(nets_, options.precision, torch_device_);
    // Progress: the statistics pass costs about one teacher forward per image, a step about ten.
    total_work_ = double(split_.train.size()) * 0.1 + double(o_.steps) + double(calibration_images()) * 0.2;
  }

  TrainResult run(const std::string& output_path) {
    teacher_channel_statistics();
    train_steps();
    calibrate_int8_ranges();
    ModelInfo info;
    info.geometry = g_;
    std::vector<RawMaps> validation_maps = map_quantiles(info);
    TrainResult result;
    result.validation_scores = validation_scores(validation_maps, info);
    set_threshold(result.validation_scores, info.validation, info.threshold);
    result.int8_validation_scores = int8_validation_scores(info);
    if (!result.int8_validation_scores.empty()) {
      set_threshold(result.int8_validation_scores, info.int8_validation, info.int8_threshold.emplace());
    }
    info.provenance = provenance();
    check_cancel(cancel_);
    save_model(output_path, nets_, info);
    result.info = read_model_info(output_path);  // what was written, with its id
    TrainProgress done;
    done.phase = TrainProgress::Phase::Done;
    report(done, total_work_);
    return result;
  }

 private:
  // The teacher from its file or random (with the loud warning); student and autoencoder freshly initialised.
  void build_networks() {
    nets_.geometry = g_;
    if (o_.teacher_path.empty()) {
      nets_.teacher = make_pdn(g_.variant, kTeacherChannels, g_.padding);
      teacher_origin_ = "random (seed " + std::to_string(o_.seed) + ")";
      if (warn_) {
        warn_("NO PRETRAINED TEACHER: training with a randomly initialised teacher (the model records this). "
              "Detection works, but localises defects worse than with a distilled teacher (models/README.md); for "
              "EfficientAD-S use the shipped one (--teacher shipped), or make one with 'efficientad distill' or "
              "'import-teacher'.");
      }
    } else {
      LoadedTeacher t = load_teacher(o_.teacher_path, g_.variant, g_.padding);
      nets_.teacher = std::move(t.teacher);
      teacher_origin_ = t.origin;
    }
    nets_.student = make_pdn(g_.variant, 2 * kTeacherChannels, g_.padding);
    nets_.autoencoder = make_autoencoder(g_);
  }

  // Lines 3-10: per-channel mean and standard deviation of the teacher's outputs on the training images. The
  // outputs are kept (within the cache budget) because the un-augmented images are the same at every step.
  void teacher_channel_statistics() {
    // Fast mode keeps the outputs in bf16 whether its steps compute in bf16 or (where bf16 is slower) in fp32,
    // so that --cache-mb holds as many images on every CPU; they are stored at that width at once, since an
    // fp32 copy kept until normalisation would take twice the budget.
    const at::ScalarType cache_dtype = o_.precision == Precision::Fast ? at::kBFloat16 : at::kFloat;
    const size_t target_bytes =
        size_t(kTeacherChannels) * g_.feature_width() * g_.feature_height() * at::elementSize(cache_dtype);
    const size_t cache_limit = size_t(o_.teacher_cache_mb) * 1024 * 1024 / target_bytes;
    cache_.assign(images_.size(), at::Tensor());
    // One block for all cached outputs: allocated one by one, each between the step's freed temporaries, they
    // fragmented the heap to 3x their size (6.6 GB resident for a 2 GB cache on 5000 frames).
    const int64_t cached = int64_t(std::min(cache_limit, split_.train.size()));
    cache_block_ = at::empty({cached, kTeacherChannels, g_.feature_height(), g_.feature_width()},
                             at::TensorOptions(torch_device_).dtype(cache_dtype));
    at::Tensor sum = at::zeros({kTeacherChannels}, at::kDouble), sum_sq = at::zeros({kTeacherChannels}, at::kDouble);
    int64_t count = 0;
    for (size_t i = 0; i < split_.train.size(); ++i) {
      check_cancel(cancel_);
      const size_t index = split_.train[i];
      const at::Tensor raw = runner_->teacher_output(unit_tensor(images_.image(index)), false).to(at::kCPU);
      const at::Tensor values = raw.to(at::kDouble).transpose(0, 1).reshape({kTeacherChannels, -1});
      sum += values.sum(1);
      sum_sq += values.pow(2).sum(1);
      count += values.size(1);
      if (int64_t(i) < cached) cache_[index] = cache_block_.narrow(0, int64_t(i), 1).copy_(raw);
      report_phase(TrainProgress::Phase::TeacherStatistics, i + 1, split_.train.size(), 0.1 * double(i + 1));
    }
    const at::Tensor mean = sum / double(count);
    const at::Tensor var = (sum_sq / double(count) - mean.pow(2)).clamp_min(0);
    nets_.teacher_mean = mean.to(at::kFloat);
    nets_.teacher_std = var.sqrt().to(at::kFloat).clamp_min(1e-6f);  // a dead channel must not divide by zero
    const auto m = nets_.teacher_mean.to(torch_device_).view({1, -1, 1, 1});
    const auto s = nets_.teacher_std.to(torch_device_).view({1, -1, 1, 1});
    for (auto& t : cache_) {
      if (t.defined()) t.copy_((t.to(at::kFloat) - m) / s);  // in place: the block stays the only copy
    }
    nets_.teacher_mean = nets_.teacher_mean.to(torch_device_);
    nets_.teacher_std = nets_.teacher_std.to(torch_device_);
  }

  // Lines 11-43: one image per step in epochs of random order, the learning rate as the schedule says.
  void train_steps() {
    std::vector<size_t> order;
    size_t next = 0;
    std::uniform_int_distribution<int> pick_augmentation(1, 3);
    std::uniform_real_distribution<float> pick_factor(0.8f, 1.2f);
    const auto loop_start = Clock::now();
    for (int64_t step = 0; step < o_.steps; ++step) {
      check_cancel(cancel_);
      runner_->set_learning_rate(learning_rate_at(o_.schedule, peak_learning_rate(), step, o_.steps));
      if (next == order.size()) {  // a new epoch in a new random order
        order = split_.train;
        std::shuffle(order.begin(), order.end(), rng_);
        next = 0;
      }
      const size_t index = order[next++];
      StepInputs in;
      in.image = unit_tensor(images_.image(index));
      in.teacher_target = cache_[index];
      in.augmentation = pick_augmentation(rng_);
      in.factor = pick_factor(rng_);
      if (penalty_->enabled()) in.penalty = penalty_->draw(rng_);
      const StepLosses losses = runner_->step(in);
      if (!std::isfinite(losses.total)) {
        throw Error("training diverged at step " + std::to_string(step + 1) +
                    " (loss is not finite); try --precision exact");
      }
      recent_losses_.add(losses.total);
      report_step(step, losses, seconds_since(loop_start));
    }
    cache_.clear();
    cache_block_ = at::Tensor();
  }

  // Activation ranges for the int8 inference path, from held-out and training images.
  void calibrate_int8_ranges() {
    std::vector<size_t> chosen = split_.validation;
    chosen.insert(chosen.end(), split_.train.begin(), split_.train.end());
    chosen.resize(std::min(chosen.size(), kCalibrationImages));
    std::vector<at::Tensor> sample;
    for (size_t i : chosen) sample.push_back(unit_tensor(images_.image(i)));
    runner_->calibrate_activations(at::cat(sample));
  }

  // Lines 44-57 on the held-out images, in exact fp32, with the maps resized to the network input size (line 52).
  // Returns the raw maps for the threshold.
  std::vector<RawMaps> map_quantiles(ModelInfo& info) {
    const MapComputer exact(nets_, Mode::Exact, device_);
    std::vector<RawMaps> maps;
    std::vector<float> st_values, ae_values;
    for (size_t i = 0; i < split_.validation.size(); ++i) {
      check_cancel(cancel_);
      const Image image = images_.image(split_.validation[i]);
      maps.push_back(exact.compute(pack_batch({image.data()}, g_.input_width, g_.input_height)));
      append_resized(maps.back().st, st_values);
      append_resized(maps.back().ae, ae_values);
      report_calibration(i + 1);
    }
    info.quantiles.st_a = float(quantile(st_values, 0.9));
    info.quantiles.st_b = float(quantile(st_values, 0.995));
    info.quantiles.ae_a = float(quantile(ae_values, 0.9));
    info.quantiles.ae_b = float(quantile(ae_values, 0.995));
    if (!(info.quantiles.st_b > info.quantiles.st_a) || !(info.quantiles.ae_b > info.quantiles.ae_a)) {
      throw Error("the held-out images give degenerate map quantiles (all maps equal); use more varied normal images");
    }
    return maps;
  }

  void append_resized(const at::Tensor& map, std::vector<float>& values) const {
    const at::Tensor resized =
        at::upsample_bilinear2d(map.unsqueeze(1), {g_.input_height, g_.input_width}, false).contiguous();
    values.insert(values.end(), resized.data_ptr<float>(), resized.data_ptr<float>() + resized.numel());
  }

  // An image's score from its raw maps, at the network input size.
  float image_score(const RawMaps& m, const ModelInfo& info) const {
    return finish_detection(m.st.data_ptr<float>(), m.ae.data_ptr<float>(), info, g_.input_width, g_.input_height,
                            false, 0.0f)
        .score;
  }

  std::vector<float> validation_scores(const std::vector<RawMaps>& maps, const ModelInfo& info) const {
    std::vector<float> scores;
    for (const RawMaps& m : maps) scores.push_back(image_score(m, info));
    return scores;
  }

  // The held-out images' scores on the int8 maps that fast mode computes on a CPU; none where training runs
  // elsewhere or the build has no int8 path.
  std::vector<float> int8_validation_scores(const ModelInfo& info) {
    if (!MapComputer::uses_int8(Mode::Fast, device_)) return {};
    const MapComputer fast(nets_, Mode::Fast, device_);
    std::vector<float> scores;
    for (size_t i = 0; i < split_.validation.size(); ++i) {
      check_cancel(cancel_);
      const Image image = images_.image(split_.validation[i]);
      scores.push_back(image_score(fast.compute(pack_batch({image.data()}, g_.input_width, g_.input_height)), info));
      report_calibration(split_.validation.size() + i + 1);
    }
    return scores;
  }

  // The default threshold: the highest held-out normal score plus two standard deviations of those scores, so
  // that none of the normal images seen so far is flagged and some unseen normal variation is tolerated.
  static void set_threshold(const std::vector<float>& scores, ValidationScores& summary, float& threshold) {
    const auto [mean, stddev] = mean_and_stddev(scores);
    summary.mean = float(mean);
    summary.stddev = float(stddev);
    summary.max = *std::max_element(scores.begin(), scores.end());
    threshold = summary.max + 2.0f * summary.stddev;
  }

  double peak_learning_rate() const {
    return o_.learning_rate > 0 ? o_.learning_rate : default_peak_learning_rate(o_.schedule);
  }

  Provenance provenance() const {
    Provenance p;
    p.steps = o_.steps;
    p.train_images = int64_t(split_.train.size());
    p.validation_images = int64_t(split_.validation.size());
    p.penalty_images = int64_t(penalty_->count());
    p.penalty_dead_leaves = penalty_->dead_leaves();
    p.teacher_origin = teacher_origin_;
    p.teacher_random = o_.teacher_path.empty();
    p.precision = runner_->uses_bf16()                  ? "fast (bf16 autocast)"
                  : o_.precision == Precision::Fast ? "fast (fp32: bf16 is not faster on this CPU)"
                                                    : "exact (fp32)";
    p.schedule = describe_schedule(o_.schedule, peak_learning_rate());
    p.seed = o_.seed;
    p.created = utc_now();
    p.library_version = EFFICIENTAD_VERSION;
    p.train_seconds = seconds_since(start_);
    p.final_loss = recent_losses_.mean();
    return p;
  }

  void report(TrainProgress p, double work_done) const {
    p.elapsed_seconds = seconds_since(start_);
    p.eta_seconds = work_done > 0 ? p.elapsed_seconds * (total_work_ - work_done) / work_done : 0;
    if (progress_) progress_(p);
  }

  void report_phase(TrainProgress::Phase phase, size_t step, size_t total, double work_done) const {
    TrainProgress p;
    p.phase = phase;
    p.step = int64_t(step);
    p.total = int64_t(total);
    report(p, work_done);
  }

  // Calibration runs the held-out images through the exact maps, and again through the int8 ones where fast
  // mode computes those (int8_validation_scores).
  size_t calibration_images() const {
    return split_.validation.size() * (MapComputer::uses_int8(Mode::Fast, device_) ? 2 : 1);
  }

  void report_calibration(size_t done) const {
    report_phase(TrainProgress::Phase::Calibration, done, calibration_images(),
                 0.1 * double(split_.train.size()) + double(o_.steps) + 0.2 * double(done));
  }

  void report_step(int64_t step, const StepLosses& losses, double loop_seconds) const {
    TrainProgress p;
    p.phase = TrainProgress::Phase::Training;
    p.step = step + 1;
    p.total = o_.steps;
    p.loss_total = losses.total;
    p.loss_st = losses.st;
    p.loss_ae = losses.ae;
    p.loss_stae = losses.stae;
    p.images_per_second = double(step + 1) / loop_seconds;
    report(p, 0.1 * double(split_.train.size()) + double(step + 1));
  }

  const TrainingSet& images_;
  const TrainOptions& o_;
  const ModelGeometry& g_;
  const ProgressCallback& progress_;
  const std::atomic<bool>* cancel_;
  const WarningCallback& warn_;
  const Clock::time_point start_;
  const Device device_;
  const at::Device torch_device_;
  std::mt19937_64 rng_;
  Split split_;
  Networks nets_;
  std::string teacher_origin_;
  std::unique_ptr<PenaltyImages> penalty_;
  std::unique_ptr<StepRunner> runner_;
  double total_work_ = 0;
  std::vector<at::Tensor> cache_;  // normalised teacher outputs of training images, by image index
  at::Tensor cache_block_;         // the storage of cache_'s tensors, one per cached image
  LossWindow recent_losses_{kLossWindowSteps};
};

}  // namespace

}  // namespace detail

TrainResult train_model(const TrainingSet& images, const TrainOptions& options, const std::string& output_path,
                        const ProgressCallback& progress, const std::atomic<bool>* cancel, const WarningCallback& warn) {
  detail::validate_options(images, options);
  detail::check_can_write(output_path);
  return detail::Trainer(images, options, progress, cancel, warn).run(output_path);
}

}  // namespace efficientad
