// Algorithm 3 on a CPU budget: the backbone's targets are computed once per image (colour and grey) and cached;
// the teacher then trains on crops, which is exact for an unpadded PDN (each output cell sees only its own
// 33 x 33 patch), so a crop's target is a window of the cached whole-image target.
#include "efficientad/distillation.h"

#include <torch/optim/adam.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <random>
#include <sstream>

#include "atomic_file.h"
#include "backbone.h"
#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "image_ops.h"
#include "inference.h"
#include "model.h"
#include "training.h"

namespace efficientad {

namespace {

using namespace detail;
using Clock = std::chrono::steady_clock;
constexpr double kGreyProbability = 0.1;  // Algorithm 3, lines 6 and 18
constexpr size_t kLossWindow = 50;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

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

// Unit RGB [1, 3, side, side] of a packed RGB image.
at::Tensor unit_tensor(const Image& rgb) {
  const uint8_t* pixels = rgb.data();
  return to_unit_float(pack_batch({pixels}, rgb.width(), rgb.height()));
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
    << ";draws=" << o.normalisation_draws << ";precision=" << mode_name(o.precision);
  return s.str();
}

struct Checkpoint {
  int64_t step = 0;
  at::Tensor mean, std;
  std::deque<float> recent_losses;
};

void save_checkpoint(const std::string& path, const std::string& print, const Checkpoint& c, const Pdn& teacher,
                     const torch::optim::Adam& optimizer) {
  torch::serialize::OutputArchive archive;
  archive.write("fingerprint", c10::IValue(print));
  archive.write("step", c10::IValue(c.step));
  archive.write("mean", c.mean);
  archive.write("std", c.std);
  archive.write("recent_losses", at::tensor(std::vector<float>(c.recent_losses.begin(), c.recent_losses.end())));
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
    for (int64_t i = 0; i < losses.numel(); ++i) c.recent_losses.push_back(losses[i].item<float>());
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
    if (progress) {
      DistillProgress p;
      p.step = int64_t(i + 1);
      p.total = int64_t(files.size());
      p.elapsed_seconds = seconds_since(start);
      p.eta_seconds = p.elapsed_seconds / double(i + 1) * double(files.size() - i - 1);
      progress(p);
    }
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

}  // namespace

DistillResult distill_teacher(const DistillOptions& o, const std::string& output_path,
                              const std::function<void(const DistillProgress&)>& progress,
                              const std::atomic<bool>* cancel, const WarningCallback& warn) {
  validate(o);
  check_can_write(output_path);
  const std::string checkpoint_path = o.checkpoint_path.empty() ? output_path + ".checkpoint" : o.checkpoint_path;
  check_can_write(checkpoint_path);
  set_cpu_threads(o.threads);
  const auto start = Clock::now();
  const std::unique_ptr<Backbone> backbone = open_backbone(o.backbone);
  DistillationData data = cache_targets(o, *backbone, cancel, progress, warn);

  at::manual_seed(int64_t(o.seed));
  Pdn teacher = make_pdn(o.variant, kTeacherChannels, /*padding=*/false);
  for (auto& c : teacher.layers) {
    c.weight = c.weight.contiguous(at::MemoryFormat::ChannelsLast).requires_grad_(true);
    c.bias = c.bias.requires_grad_(true);
  }
  torch::optim::Adam optimizer(parameters(teacher), torch::optim::AdamOptions(kLearningRate).weight_decay(kWeightDecay));

  const std::string print = fingerprint(o, *backbone, data);
  Checkpoint state;
  const bool resume = !o.restart && std::filesystem::exists(checkpoint_path);
  if (resume) {
    state = load_checkpoint(checkpoint_path, print, teacher, optimizer);
  } else {
    channel_statistics(o, data, state.mean, state.std);
  }
  const int64_t resumed_at = state.step;
  if (resumed_at > o.steps) {
    throw InvalidArgument("checkpoint " + checkpoint_path + " is already at step " + std::to_string(resumed_at) +
                          ", beyond the " + std::to_string(o.steps) + " steps asked for; ask for more steps or pass --restart");
  }
  for (auto& t : data.targets) {  // line 22, once for all steps
    t = ((t.to(at::kFloat) - state.mean.view({1, -1, 1, 1})) / state.std.view({1, -1, 1, 1})).to(at::kHalf);
  }

  const bool bf16 = o.precision == Mode::Fast && cpu_has_native_bf16();
  const int crop_cells = (o.crop - kPdnReceptiveField) / kPdnStride + 1;
  const int positions = (backbone->teacher_side() - o.crop) / kPdnStride + 1;
  const auto train_start = Clock::now();
  for (int64_t step = state.step; step < o.steps; ++step) {
    if (cancel && cancel->load()) {
      save_checkpoint(checkpoint_path, print, state, teacher, optimizer);
      throw Cancelled("distillation stopped at step " + std::to_string(state.step) + "; checkpoint saved to " +
                      checkpoint_path + " (run the same command again to resume); no teacher file was written");
    }
    // Lines 16-20, with a generator per step so that a resumed run draws exactly what an uninterrupted one would.
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
      output = teacher.forward(x);
    }
    // Lines 24-28: the mean squared difference per image, averaged over the batch (all crops have one size).
    const at::Tensor loss = (output.to(at::kFloat) - target).pow(2).mean();
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();

    state.step = step + 1;
    state.recent_losses.push_back(loss.item<float>());
    if (state.recent_losses.size() > kLossWindow) state.recent_losses.pop_front();
    if (state.step % o.checkpoint_every == 0 || state.step == o.steps) {
      save_checkpoint(checkpoint_path, print, state, teacher, optimizer);
    }
    if (progress) {
      DistillProgress p;
      p.phase = DistillProgress::Phase::Training;
      p.step = state.step;
      p.total = o.steps;
      for (float l : state.recent_losses) p.loss += l / float(state.recent_losses.size());
      p.elapsed_seconds = seconds_since(start);
      p.eta_seconds = seconds_since(train_start) / double(state.step - resumed_at) * double(o.steps - state.step);
      progress(p);
    }
  }

  DistillResult result;
  result.steps = state.step;
  result.resumed_at = resumed_at;
  result.images = int64_t(data.names.size());
  for (float l : state.recent_losses) result.final_loss += l / float(std::max<size_t>(1, state.recent_losses.size()));
  std::ostringstream origin;
  origin << "distilled (Algorithm 3) from " << backbone->description() << " on " << data.names.size()
         << " images of " << o.image_folder << ", " << state.step << " steps of " << o.batch << " crops of "
         << o.crop << " px, seed " << o.seed << ", " << (bf16 ? "bf16" : "fp32") << ", final loss "
         << result.final_loss;
  result.origin = origin.str();
  for (auto& c : teacher.layers) {  // a teacher file holds plain fp32 NCHW weights
    c.weight = c.weight.detach().contiguous();
    c.bias = c.bias.detach().contiguous();
  }
  save_teacher(output_path, teacher, result.origin);
  result.seconds = seconds_since(start);
  if (progress) {
    DistillProgress p;
    p.phase = DistillProgress::Phase::Done;
    p.step = p.total = state.step;
    p.loss = result.final_loss;
    p.elapsed_seconds = result.seconds;
    progress(p);
  }
  return result;
}

}  // namespace efficientad
