// Algorithm 3 on a CPU budget: the backbone's targets are computed once per image (colour and grey) and cached;
// the teacher then trains on crops, which is exact for an unpadded PDN (each output cell sees only its own
// 33 x 33 patch), so a crop's target is a window of the cached whole-image target.
#include "efficientad/distillation.h"

#include <torch/optim/adam.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>

#include "common/atomic_file.h"
#include "common/device.h"
#include "common/tensor_memory.h"
#include "common/loss_window.h"
#include "common/timing.h"
#include "distillation/backbone.h"
#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "image/image_ops.h"
#include "image/image_tensors.h"
#include "model/model_file.h"
#include "training/train_step.h"

namespace efficientad {

namespace {

using namespace detail;
constexpr double kGreyProbability = 0.1;  // Algorithm 3, lines 6 and 18
constexpr size_t kLossWindowSteps = 50;

void validate(const DistillOptions& o) {
  if (o.backbone.empty()) throw InvalidArgument("no backbone given (nsfwjs:FOLDER or torchscript:FILE)");
  if (o.image_folder.empty()) throw InvalidArgument("no image folder given");
  if (o.steps < 1) throw InvalidArgument("steps must be at least 1");
  if (o.batch < 1 || o.batch > 256) throw InvalidArgument("batch must be 1..256");
  if (o.crop < kPdnReceptiveField + 3 || o.crop > 256 || o.crop % kPdnStride != 0) {
    throw InvalidArgument("crop must be a multiple of 4 from 36 to 256 (the teacher's input is 256 x 256)");
  }
  if (o.normalisation_draws < 1) throw InvalidArgument("normalisation draws must be at least 1");
  if (o.checkpoint_every < 1) throw InvalidArgument("checkpoint interval must be at least 1 step");
}

struct DistillationData {
  std::vector<Image> teacher_inputs;  // 256 x 256 RGB
  std::vector<at::Tensor> targets;    // per image [2 (colour, grey), 384, cells, cells], half precision
  std::vector<std::string> names;
};

// What a checkpoint must agree on to be resumed (everything but the step count).
std::string fingerprint(const DistillOptions& o, const Backbone& backbone, const DistillationData& data) {
  size_t names_hash = 0;
  for (const auto& n : data.names) names_hash = names_hash * 1000003u ^ std::hash<std::string>()(n);
  std::ostringstream s;
  s << "variant=" << variant_name(o.variant) << ";backbone=" << backbone.description() << ";images="
    << data.names.size() << ":" << names_hash << ";batch=" << o.batch << ";crop=" << o.crop << ";seed=" << o.seed
    << ";draws=" << o.normalisation_draws << ";precision=" << precision_name(o.precision);
  return s.str();
}

struct Checkpoint {
  int64_t step = 0;
  at::Tensor mean, std;
  LossWindow recent_losses{kLossWindowSteps};
};

void save_checkpoint(const std::string& path, const std::string& print, const Checkpoint& c, const Pdn& teacher,
                     const torch::optim::Adam& optimizer) {
  torch::serialize::OutputArchive archive;
  archive.write("fingerprint", c10::IValue(print));
  archive.write("step", c10::IValue(c.step));
  archive.write("mean", c.mean);
  archive.write("std", c.std);
  archive.write("recent_losses", at::tensor(c.recent_losses.values()));
  const std::vector<at::Tensor> params = parameters(teacher);
  for (size_t i = 0; i < params.size(); ++i) archive.write("teacher." + std::to_string(i), params[i].detach());
  torch::serialize::OutputArchive adam;
  optimizer.save(adam);
  archive.write("adam", adam);
  std::ostringstream bytes;
  archive.save_to(bytes);
  const std::string blob = bytes.str();
  write_file_atomically(path, blob.data(), blob.size());
}

// Restores teacher and optimiser in place. Throws ModelFileError for a foreign, corrupt or mismatched file.
Checkpoint load_checkpoint(const std::string& path, const std::string& print, Pdn& teacher,
                           torch::optim::Adam& optimizer) {
  const std::string advice = "; delete it or pass --restart to start over";
  Checkpoint c;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    c10::IValue value;
    archive.read("fingerprint", value);
    if (value.toStringRef() != print) {
      throw ModelFileError("checkpoint " + path + " belongs to a run with other settings (" + value.toStringRef() +
                           ", now " + print + ")" + advice);
    }
    archive.read("step", value);
    c.step = value.toInt();
    archive.read("mean", c.mean);
    archive.read("std", c.std);
    at::Tensor losses;
    archive.read("recent_losses", losses);
    const at::Tensor loss_values = losses.to(at::kFloat).contiguous();
    c.recent_losses.assign(std::vector<float>(loss_values.data_ptr<float>(), loss_values.data_ptr<float>() + loss_values.numel()));
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> params = parameters(teacher);
    for (size_t i = 0; i < params.size(); ++i) {
      at::Tensor saved;
      archive.read("teacher." + std::to_string(i), saved);
      if (!saved.sizes().equals(params[i].sizes())) throw ModelFileError("checkpoint " + path + ": teacher shapes differ" + advice);
      params[i].copy_(saved);
    }
    torch::serialize::InputArchive adam;
    archive.read("adam", adam);
    optimizer.load(adam);
  } catch (const c10::Error& e) {
    throw ModelFileError("checkpoint " + path + " is unreadable or incomplete (" + e.msg().substr(0, 160) + ")" + advice);
  }
  if (c.step < 0 || !c.mean.defined() || c.mean.numel() != kTeacherChannels || !at::all(c.std > 0).item<bool>()) {
    throw ModelFileError("checkpoint " + path + " holds invalid values" + advice);
  }
  return c;
}

void report(const std::function<void(const DistillProgress&)>& progress, DistillProgress::Phase phase, int64_t step,
            int64_t total, float loss, double elapsed, double eta) {
  if (!progress) return;
  DistillProgress p;
  p.phase = phase;
  p.step = step;
  p.total = total;
  p.loss = loss;
  p.elapsed_seconds = elapsed;
  p.eta_seconds = eta;
  progress(p);
}

DistillationData cache_targets(const DistillOptions& o, const Backbone& backbone, const std::atomic<bool>* cancel,
                               const std::function<void(const DistillProgress&)>& progress,
                               const WarningCallback& warn) {
  const std::vector<std::string> files = list_image_files(o.image_folder);
  if (files.empty()) throw InvalidArgument("no images (.png, .jpg, .jpeg, .bmp, .tif) in " + o.image_folder);
  DistillationData data;
  const auto start = Clock::now();
  for (size_t i = 0; i < files.size(); ++i) {
    if (cancel && cancel->load()) throw Cancelled("distillation cancelled while reading images; nothing was written");
    Image original;
    try {
      original = load_image(files[i]);
    } catch (const ImageError& e) {
      if (warn) warn(std::string("skipping unreadable image: ") + e.what());
      continue;
    }
    // Lines 19-20: the backbone and the teacher see the same image at their own sizes.
    const int side = backbone.input_side();
    const at::Tensor colour = unit_tensor(to_network_input(original.view(), side, side));
    const at::Tensor both = at::cat({colour, to_grayscale(colour)});
    data.targets.push_back(backbone.targets(both).to(at::kHalf));
    data.teacher_inputs.push_back(to_network_input(original.view(), backbone.teacher_side(), backbone.teacher_side()));
    data.names.push_back(std::filesystem::path(files[i]).filename().string());
    const double elapsed = seconds_since(start);
    report(progress, DistillProgress::Phase::Features, int64_t(i + 1), int64_t(files.size()), 0, elapsed,
           elapsed / double(i + 1) * double(files.size() - i - 1));
  }
  if (data.names.size() < 2) throw InvalidArgument("need at least 2 readable images in " + o.image_folder);
  return data;
}

// Lines 2-12: per-channel mean and standard deviation of the targets over random draws (image, grey or not).
void channel_statistics(const DistillOptions& o, const DistillationData& data, at::Tensor& mean, at::Tensor& std) {
  const size_t n = data.targets.size();
  // Per image and version, per-channel sums; a draw then costs one addition.
  std::vector<at::Tensor> sums(2 * n), squares(2 * n);
  for (size_t i = 0; i < n; ++i) {
    const at::Tensor t = data.targets[i].to(at::kDouble);
    for (int v = 0; v < 2; ++v) {
      sums[2 * i + v] = t[v].sum({1, 2});
      squares[2 * i + v] = t[v].pow(2).sum({1, 2});
    }
  }
  std::mt19937_64 rng(o.seed);
  at::Tensor sum = at::zeros({kTeacherChannels}, at::kDouble), square = at::zeros({kTeacherChannels}, at::kDouble);
  for (int64_t d = 0; d < o.normalisation_draws; ++d) {
    const size_t i = std::uniform_int_distribution<size_t>(0, n - 1)(rng);
    const int v = std::bernoulli_distribution(kGreyProbability)(rng) ? 1 : 0;
    sum += sums[2 * i + v];
    square += squares[2 * i + v];
  }
  const double count = double(o.normalisation_draws) * double(data.targets[0].size(2) * data.targets[0].size(3));
  mean = sum / count;
  std = (square / count - mean * mean).clamp_min(1e-12).sqrt();
  mean = mean.to(at::kFloat);
  std = std.to(at::kFloat);
}

// The teacher being distilled with its optimiser, resumable from a checkpoint.
struct TeacherTraining {
  Pdn teacher;
  std::unique_ptr<torch::optim::Adam> optimizer;
  Checkpoint state;
  int64_t resumed_at = 0;
};

TeacherTraining start_or_resume(const DistillOptions& o, const std::string& checkpoint_path, const std::string& print,
                                DistillationData& data) {
  TeacherTraining t;
  at::manual_seed(int64_t(o.seed));
  t.teacher = make_pdn(o.variant, kTeacherChannels, /*padding=*/false);
  for (auto& c : t.teacher.layers) {
    c.weight = c.weight.contiguous(at::MemoryFormat::ChannelsLast).requires_grad_(true);
    c.bias = c.bias.requires_grad_(true);
  }
  t.optimizer = std::make_unique<torch::optim::Adam>(parameters(t.teacher),
                                                     torch::optim::AdamOptions(kLearningRate).weight_decay(kWeightDecay));
  if (!o.restart && std::filesystem::exists(checkpoint_path)) {
    t.state = load_checkpoint(checkpoint_path, print, t.teacher, *t.optimizer);
  } else {
    channel_statistics(o, data, t.state.mean, t.state.std);
  }
  t.resumed_at = t.state.step;
  if (t.resumed_at > o.steps) {
    throw InvalidArgument("checkpoint " + checkpoint_path + " is already at step " + std::to_string(t.resumed_at) +
                          ", beyond the " + std::to_string(o.steps) + " steps asked for; ask for more steps or pass --restart");
  }
  for (auto& target : data.targets) {  // line 22, once for all steps
    target = ((target.to(at::kFloat) - t.state.mean.view({1, -1, 1, 1})) / t.state.std.view({1, -1, 1, 1})).to(at::kHalf);
  }
  return t;
}

// Lines 16-28 for one step: a batch of random crops (colour or grey) against the windows of their cached targets.
// A generator per step makes a resumed run draw exactly what an uninterrupted one would. Returns the loss.
float distillation_step(const DistillOptions& o, const Backbone& backbone, const DistillationData& data, int64_t step,
                        bool bf16, TeacherTraining& t) {
  const int crop_cells = (o.crop - kPdnReceptiveField) / kPdnStride + 1;
  const int positions = (backbone.teacher_side() - o.crop) / kPdnStride + 1;
  std::mt19937_64 rng(o.seed * 0x9E3779B97F4A7C15ull + uint64_t(step));
  std::vector<at::Tensor> inputs, targets;
  for (int b = 0; b < o.batch; ++b) {
    const size_t i = std::uniform_int_distribution<size_t>(0, data.targets.size() - 1)(rng);
    const bool grey = std::bernoulli_distribution(kGreyProbability)(rng);
    const int cy = std::uniform_int_distribution<int>(0, positions - 1)(rng);
    const int cx = std::uniform_int_distribution<int>(0, positions - 1)(rng);
    at::Tensor image = unit_tensor(data.teacher_inputs[i]);
    if (grey) image = to_grayscale(image);
    inputs.push_back(image.narrow(2, cy * kPdnStride, o.crop).narrow(3, cx * kPdnStride, o.crop));
    targets.push_back(data.targets[i][grey ? 1 : 0].narrow(1, cy, crop_cells).narrow(2, cx, crop_cells));
  }
  const at::Tensor x = imagenet_normalize(at::cat(inputs)).contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor target = at::stack(targets).to(at::kFloat);
  at::Tensor output;
  {
    AutocastScope autocast(bf16);
    output = t.teacher.forward(x);
  }
  // Lines 24-28: the mean squared difference per image, averaged over the batch (all crops have one size).
  const at::Tensor loss = (output.to(at::kFloat) - target).pow(2).mean();
  t.optimizer->zero_grad();
  loss.backward();
  t.optimizer->step();
  return loss.item<float>();
}

std::string describe_origin(const DistillOptions& o, const Backbone& backbone, const DistillationData& data,
                            int64_t steps, bool bf16, float final_loss) {
  std::ostringstream origin;
  origin << "distilled (Algorithm 3) from " << backbone.description() << " on " << data.names.size()
         << " images of " << o.image_folder << ", " << steps << " steps of " << o.batch << " crops of " << o.crop
         << " px, seed " << o.seed << ", " << (bf16 ? "bf16" : "fp32") << ", final loss " << final_loss;
  return origin.str();
}


}  // namespace

DistillResult distill_teacher(const DistillOptions& o, const std::string& output_path,
                              const std::function<void(const DistillProgress&)>& progress,
                              const std::atomic<bool>* cancel, const WarningCallback& warn) {
  validate(o);
  check_can_write(output_path);
  const std::string checkpoint_path = o.checkpoint_path.empty() ? output_path + ".checkpoint" : o.checkpoint_path;
  check_can_write(checkpoint_path);
  set_cpu_threads(o.threads);
  reuse_tensor_memory();
  const auto start = Clock::now();
  const std::unique_ptr<Backbone> backbone = open_backbone(o.backbone, {o.layers, o.backbone_scale});
  DistillationData data = cache_targets(o, *backbone, cancel, progress, warn);
  const std::string print = fingerprint(o, *backbone, data);
  TeacherTraining t = start_or_resume(o, checkpoint_path, print, data);

  const bool bf16 = o.precision == Precision::Fast && cpu_bf16_outruns_fp32();
  const auto train_start = Clock::now();
  for (int64_t step = t.state.step; step < o.steps; ++step) {
    if (cancel && cancel->load()) {
      save_checkpoint(checkpoint_path, print, t.state, t.teacher, *t.optimizer);
      throw Cancelled("distillation stopped at step " + std::to_string(t.state.step) + "; checkpoint saved to " +
                      checkpoint_path + " (run the same command again to resume); no teacher file was written");
    }
    t.state.recent_losses.add(distillation_step(o, *backbone, data, step, bf16, t));
    t.state.step = step + 1;
    if (t.state.step % o.checkpoint_every == 0 || t.state.step == o.steps) {
      save_checkpoint(checkpoint_path, print, t.state, t.teacher, *t.optimizer);
    }
    const double eta = seconds_since(train_start) / double(t.state.step - t.resumed_at) * double(o.steps - t.state.step);
    report(progress, DistillProgress::Phase::Training, t.state.step, o.steps, t.state.recent_losses.mean(),
           seconds_since(start), eta);
  }

  DistillResult result;
  result.steps = t.state.step;
  result.resumed_at = t.resumed_at;
  result.images = int64_t(data.names.size());
  result.final_loss = t.state.recent_losses.mean();
  result.origin = describe_origin(o, *backbone, data, t.state.step, bf16, result.final_loss);
  for (auto& c : t.teacher.layers) {  // a teacher file holds plain fp32 NCHW weights
    c.weight = c.weight.detach().contiguous();
    c.bias = c.bias.detach().contiguous();
  }
  save_teacher(output_path, t.teacher, result.origin);
  result.seconds = seconds_since(start);
  report(progress, DistillProgress::Phase::Done, t.state.step, t.state.step, result.final_loss, result.seconds, 0);
  return result;
}

}  // namespace efficientad
