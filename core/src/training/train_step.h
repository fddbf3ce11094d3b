// One training step of Algorithm 1 (lines 13-42), separated from the data handling in trainer.cpp so that the
// benchmark and the tests can run single steps, and compare them with the straightforward reference step.
#pragma once

#include <ATen/ATen.h>
#include <torch/optim/adam.h>

#include <memory>

#include "model/model_file.h"

namespace efficientad::detail {

// bf16 autocast on the CPU for one scope. The cast-weight cache must be cleared when the scope ends, or the next
// step would reuse bf16 copies of weights that the optimiser has since changed.
class AutocastScope {
 public:
  explicit AutocastScope(bool enable);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_;
};

// Augmentation of the autoencoder's input (lines 23-28): 1 brightness, 2 contrast, 3 saturation, factor in
// [0.8, 1.2], with torchvision's ColorJitter formulas on RGB in [0, 1].
at::Tensor augment(const at::Tensor& unit_rgb, int kind, float factor);
// Luma as torchvision's rgb_to_grayscale, keeping 3 channels.
at::Tensor to_grayscale(const at::Tensor& unit_rgb);

// The hard feature loss (lines 18-20): mean of the elements of `distance` at or above its p-quantile
// (linear interpolation, as torch.quantile). Uses a partial sort instead of a full one.
at::Tensor hard_feature_loss(const at::Tensor& distance, double p);
constexpr double kHardMiningQuantile = 0.999;

struct StepInputs {
  at::Tensor image;           // [1, 3, H, W] RGB in [0, 1]
  at::Tensor teacher_target;  // normalised teacher output of `image` if cached, else undefined
  at::Tensor penalty;         // [1, 3, H, W] natural image in [0, 1], or undefined when the penalty is off
  int augmentation = 1;
  float factor = 1.0f;
};

struct StepLosses {
  float total = 0, st = 0, ae = 0, stae = 0;
};

// The trainable state: student and autoencoder with their Adam optimiser (lr 1e-4, weight decay 1e-5).
class StepRunner {
 public:
  // `nets` is shared: the runner trains nets.student and nets.autoencoder in place. precision Fast = bf16
  // autocast where the CPU has native bf16; both precisions use channels-last.
  StepRunner(Networks& nets, Precision precision, at::Device device);

  StepLosses step(const StepInputs& in);
  void set_learning_rate(double lr);
  // Teacher output of an image in [0, 1], raw or normalised with nets.teacher_mean/std (line 15), computed in
  // the runner's precision without gradient.
  at::Tensor teacher_output(const at::Tensor& image, bool normalised) const;
  bool uses_bf16() const { return bf16_; }
  // Sets nets.teacher/student/decoder_activation_max from images in [0, 1] ([N, 3, H, W], a few dozen suffice).
  void calibrate_activations(const at::Tensor& images);

 private:
  Networks& nets_;
  at::Device device_;
  bool bf16_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

// The same step written as a direct port of the reference: fp32, NCHW, the teacher run on both images every
// step, full student outputs then sliced, torch.quantile for the hard loss, one network call per image.
// Benchmarks time it; tests check that StepRunner in exact precision computes the same losses.
StepLosses reference_step(Networks& nets, torch::optim::Adam& optimizer, const StepInputs& in);
std::unique_ptr<torch::optim::Adam> make_optimizer(Networks& nets);

constexpr double kLearningRate = 1e-4;
constexpr double kWeightDecay = 1e-5;

}  // namespace efficientad::detail
