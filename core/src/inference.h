// Algorithm 2, lines 1-6: the raw local (student-teacher) and global (student-autoencoder) maps at feature
// resolution, for a batch of images already resized to the network input.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>

#include "efficientad/detector.h"
#include "efficientad/model.h"
#include "model.h"

namespace efficientad::detail {

class Int8Pdn;

struct RawMaps {
  at::Tensor st, ae;  // [N, feature_height, feature_width] float32 on the CPU
};

// Packed RGB images at the network input size -> uint8 tensor [N, H, W, 3] (one copy).
at::Tensor pack_batch(const std::vector<const uint8_t*>& rgb, int width, int height);

class MapComputer {
 public:
  // Prepares weights for `mode` once. Exact keeps fp32 and the paper's formulas. Fast folds the ImageNet
  // normalisation into the first convolutions and the teacher statistics into the teacher's last convolution;
  // on the CPU it runs teacher and student in int8 (oneDNN, calibrated activation ranges) when the build has
  // oneDNN, and everything else in bf16 where the CPU has it natively, else fp32.
  MapComputer(const Networks& nets, Mode mode, Device device);
  ~MapComputer();
  RawMaps compute(const at::Tensor& rgb_u8_nhwc) const;
  const std::string& precision() const { return precision_; }  // e.g. "fp32", "int8 PDNs + bf16 autoencoder"

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

// Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX); without it fast mode stays in fp32.
bool cpu_has_native_bf16();

// Raw maps of one image -> the caller's Detection: normalised, combined, resized to out_width x out_height,
// scored (Algorithm 2, lines 7-11).
Detection finish_detection(const float* st, const float* ae, const ModelInfo& info, int out_width, int out_height,
                           bool component_maps, float threshold);

// Sets LibTorch's CPU thread count (0 = one per core); LibTorch starts with one thread on some systems.
void set_cpu_threads(int threads);

// Resolves Auto and checks that the device exists; throws DeviceError.
Device resolve_device(Device requested);
at::Device torch_device(Device resolved);

}  // namespace efficientad::detail
