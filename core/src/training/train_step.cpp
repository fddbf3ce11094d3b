#include "training/train_step.h"

#include <ATen/autocast_mode.h>

#include "common/device.h"
#include "inference/map_computer.h"

namespace efficientad::detail {

AutocastScope::AutocastScope(bool enable) : active_(enable && !at::autocast::is_cpu_enabled()) {
  if (!active_) return;
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::set_cpu_enabled(true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  at::autocast::set_cpu_enabled(false);
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

namespace {

void make_trainable(std::vector<Conv>& layers, at::Device device) {
  for (auto& c : layers) {
    c.weight = c.weight.detach().to(device).contiguous(at::MemoryFormat::ChannelsLast).requires_grad_(true);
    c.bias = c.bias.detach().to(device).requires_grad_(true);
  }
}

std::vector<at::Tensor> trainable_parameters(const Networks& nets) {
  std::vector<at::Tensor> params = parameters(nets.student);
  for (auto& p : parameters(nets.autoencoder)) params.push_back(p);
  return params;
}

at::Tensor normalise_teacher(const Networks& nets, const at::Tensor& teacher_output) {
  return (teacher_output - nets.teacher_mean.view({1, -1, 1, 1})) / nets.teacher_std.view({1, -1, 1, 1});
}

}  // namespace

at::Tensor to_grayscale(const at::Tensor& rgb) {
  const at::Tensor luma = rgb.select(1, 0) * 0.2989f + rgb.select(1, 1) * 0.587f + rgb.select(1, 2) * 0.114f;
  return luma.unsqueeze(1).expand_as(rgb);
}

at::Tensor augment(const at::Tensor& rgb, int kind, float factor) {
  at::Tensor out;
  switch (kind) {
    case 1:  // brightness: blend with black
      out = rgb * factor;
      break;
    case 2:  // contrast: blend with the mean grey level of the image
      out = rgb * factor + (1.0f - factor) * to_grayscale(rgb).mean();
      break;
    default:  // saturation: blend with the image's own grey version
      out = rgb * factor + (1.0f - factor) * to_grayscale(rgb);
      break;
  }
  return out.clamp_(0.0f, 1.0f);
}

at::Tensor hard_feature_loss(const at::Tensor& distance, double p) {
  const at::Tensor flat = distance.reshape({-1});
  const int64_t n = flat.numel();
  const double position = p * double(n - 1);
  const int64_t lower = int64_t(position);
  // The n - lower largest values, ascending, start with the order statistics at `lower` and `lower + 1`.
  const at::Tensor top = std::get<0>(at::topk(flat.detach(), std::min<int64_t>(n - lower, n), 0, true, true));
  const int64_t k = top.numel();
  const at::Tensor lo = top[k - 1];
  const at::Tensor hi = k >= 2 ? top[k - 2] : lo;
  const at::Tensor threshold = lo + (hi - lo) * float(position - double(lower));
  return flat.masked_select(flat >= threshold).mean();
}

StepRunner::StepRunner(Networks& nets, Precision precision, at::Device device)
    : nets_(nets), device_(device), bf16_(precision == Precision::Fast && device.is_cpu() && cpu_bf16_outruns_fp32()) {
  make_trainable(nets_.student.layers, device_);
  make_trainable(nets_.autoencoder.encoder, device_);
  make_trainable(nets_.autoencoder.decoder, device_);
  for (auto& c : nets_.teacher.layers) {
    c.weight = c.weight.detach().to(device_).contiguous(at::MemoryFormat::ChannelsLast);
    c.bias = c.bias.detach().to(device_);
  }
  optimizer_ = make_optimizer(nets_);
}

std::unique_ptr<torch::optim::Adam> make_optimizer(Networks& nets) {
  return std::make_unique<torch::optim::Adam>(trainable_parameters(nets),
                                              torch::optim::AdamOptions(kLearningRate).weight_decay(kWeightDecay));
}

void StepRunner::set_learning_rate(double lr) {
  for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

at::Tensor StepRunner::teacher_output(const at::Tensor& image, bool normalised) const {
  at::NoGradGuard no_grad;
  AutocastScope autocast(bf16_);
  const at::Tensor x = imagenet_normalize(image.to(device_)).contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor t = nets_.teacher.forward(x).to(at::kFloat);
  return normalised ? normalise_teacher(nets_, t) : t;
}

void StepRunner::calibrate_activations(const at::Tensor& images) {
  AutocastScope autocast(bf16_);
  at::Tensor teacher_max, student_max, decoder_max;
  for (int64_t i = 0; i < images.size(0); ++i) {  // one at a time: bounded memory for large inputs
    const at::Tensor x = imagenet_normalize(images.narrow(0, i, 1).to(device_)).contiguous(at::MemoryFormat::ChannelsLast);
    const at::Tensor t = hidden_activation_max(nets_.teacher, x), s = hidden_activation_max(nets_.student, x);
    const at::Tensor d = decoder_activation_max(nets_.autoencoder, x);
    teacher_max = i == 0 ? t : at::maximum(teacher_max, t);
    student_max = i == 0 ? s : at::maximum(student_max, s);
    decoder_max = i == 0 ? d : at::maximum(decoder_max, d);
  }
  nets_.teacher_activation_max = teacher_max.to(at::kFloat);
  nets_.student_activation_max = student_max.to(at::kFloat);
  nets_.decoder_activation_max = decoder_max.to(at::kFloat);
}

StepLosses StepRunner::step(const StepInputs& in) {
  const int64_t c = kTeacherChannels;
  const at::Tensor image = in.image.to(device_);
  const at::Tensor augmented = augment(image, in.augmentation, in.factor);
  const at::Tensor target = in.teacher_target.defined() ? in.teacher_target.to(device_, at::kFloat) : teacher_output(image, true);
  const at::Tensor target_augmented = teacher_output(augmented, true);

  AutocastScope autocast(bf16_);
  // The student sees the training image, its augmented copy and the penalty image: one batched body pass, then
  // only the output channels each loss reads (first half: teacher imitation, second half: autoencoder imitation).
  std::vector<at::Tensor> batch{image, augmented};
  if (in.penalty.defined()) batch.push_back(in.penalty.to(device_));
  const at::Tensor x = imagenet_normalize(at::cat(batch)).contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor features = nets_.student.body(x);
  const at::Tensor student_st = nets_.student.head(features.narrow(0, 0, 1), 0, c).to(at::kFloat);
  const at::Tensor student_ae = nets_.student.head(features.narrow(0, 1, 1), c, c).to(at::kFloat);

  at::Tensor loss_st = hard_feature_loss((target - student_st).pow(2), kHardMiningQuantile);
  if (in.penalty.defined()) {
    loss_st = loss_st + nets_.student.head(features.narrow(0, 2, 1), 0, c).to(at::kFloat).pow(2).mean();
  }
  const at::Tensor reconstruction = nets_.autoencoder.forward(x.narrow(0, 1, 1), true).to(at::kFloat);
  const at::Tensor loss_ae = (target_augmented - reconstruction).pow(2).mean();
  const at::Tensor loss_stae = (reconstruction - student_ae).pow(2).mean();
  const at::Tensor total = loss_st + loss_ae + loss_stae;

  optimizer_->zero_grad();
  total.backward();
  optimizer_->step();
  return {total.item<float>(), loss_st.item<float>(), loss_ae.item<float>(), loss_stae.item<float>()};
}

StepLosses reference_step(Networks& nets, torch::optim::Adam& optimizer, const StepInputs& in) {
  const int64_t c = kTeacherChannels;
  const at::Tensor image_st = imagenet_normalize(in.image).contiguous();
  const at::Tensor image_ae = imagenet_normalize(augment(in.image, in.augmentation, in.factor)).contiguous();
  at::Tensor teacher_st, teacher_ae;
  {
    at::NoGradGuard no_grad;
    teacher_st = normalise_teacher(nets, nets.teacher.forward(image_st));
    teacher_ae = normalise_teacher(nets, nets.teacher.forward(image_ae));
  }
  const at::Tensor distance_st = (teacher_st - nets.student.forward(image_st).narrow(1, 0, c)).pow(2);
  const at::Tensor d_hard = at::quantile(distance_st, kHardMiningQuantile);
  at::Tensor loss_st = distance_st.masked_select(distance_st >= d_hard).mean();
  if (in.penalty.defined()) {
    loss_st = loss_st + nets.student.forward(imagenet_normalize(in.penalty)).narrow(1, 0, c).pow(2).mean();
  }
  const at::Tensor reconstruction = nets.autoencoder.forward(image_ae, true);
  const at::Tensor student_ae = nets.student.forward(image_ae).narrow(1, c, c);
  const at::Tensor loss_ae = (teacher_ae - reconstruction).pow(2).mean();
  const at::Tensor loss_stae = (reconstruction - student_ae).pow(2).mean();
  const at::Tensor total = loss_st + loss_ae + loss_stae;
  optimizer.zero_grad();
  total.backward();
  optimizer.step();
  return {total.item<float>(), loss_st.item<float>(), loss_ae.item<float>(), loss_stae.item<float>()};
}

}  // namespace efficientad::detail
