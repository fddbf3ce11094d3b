// Algorithm 2, lines 1-6: the raw local (student-teacher) and global (student-autoencoder) maps at feature
// resolution, for a batch of images already resized to the network input.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>

#include "efficientad/model.h"
#include "model/model_file.h"

namespace efficientad::detail {

class Int8Pdn;

struct RawMaps {
  at::Tensor st, ae;  // [N, feature_height, feature_width] float32 on the CPU
};

class MapComputer {
 public:
  // Prepares weights for `mode` once. Exact keeps fp32 and the paper's formulas. Fast folds the ImageNet
  // normalisation into the first convolutions and the teacher statistics into the teacher's last convolution;
  // on the CPU it runs teacher and student in int8 (oneDNN, calibrated activation ranges) when the build has
  // oneDNN, and everything else in bf16 where the CPU has it natively, else fp32.
  MapComputer(const Networks& nets, Mode mode, Device device);  // device: resolved (never Auto)
  // Whether a MapComputer for `mode` on `device` runs teacher and student in int8.
  static bool uses_int8(Mode mode, Device device);
  ~MapComputer();
  RawMaps compute(const at::Tensor& rgb_u8_nhwc) const;
  const std::string& precision() const { return precision_; }  // e.g. "fp32", "int8 PDNs + bf16 autoencoder"
  bool runs_int8() const { return teacher_int8_ != nullptr; }

 private:
  RawMaps compute_int8(const at::Tensor& rgb_u8_nhwc) const;

  Mode mode_;
  at::Device device_;
  at::ScalarType dtype_;  // of the networks run through LibTorch
  std::string precision_;
  Networks nets_;
  std::unique_ptr<Int8Pdn> teacher_int8_, student_int8_;
};

// `net` compiled for 8-bit inference on raw RGB u8 pixels (ImageNet normalisation folded into its first layer).
// Fold the teacher statistics into `net` beforehand to get normalised teacher features.
std::unique_ptr<Int8Pdn> compile_int8(Pdn net, const at::Tensor& activation_max, const ModelGeometry& geometry);

// The paper's formulas evaluated op by op in fp32 and NCHW, the way a straightforward port runs them: the
// baseline of the benchmarks and the yardstick of the exactness tests.
RawMaps reference_maps(const Networks& nets, const at::Tensor& rgb_u8_nhwc);

// Largest activation of each hidden layer of `net` (after ReLU) over a batch of ImageNet-normalised images, [L-1].
at::Tensor hidden_activation_max(const Pdn& net, const at::Tensor& normalised_images);

}  // namespace efficientad::detail
