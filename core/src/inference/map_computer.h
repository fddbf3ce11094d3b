// Algorithm 2, lines 1-6: the raw local (student-teacher) and global (student-autoencoder) maps at feature
// resolution, for a batch of images already resized to the network input.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "efficientad/model.h"
#include "model/model_file.h"

namespace efficientad::detail {

class Int8Decoder;
class Int8Pdn;
class Int8PdnStrips;
struct Int8LayerWeights;
enum class FirstLayer;

struct RawMaps {
  at::Tensor st, ae;  // [N, feature_height, feature_width] float32 on the CPU
};

// A batch goes through the networks in passes of equal size: `size` images from each of `starts`. The last pass
// starts early, recomputing a few images of the one before, where the size does not divide the batch: the int8
// networks build their oneDNN primitives for one batch size, and a pass of another size would rebuild them.
struct Passes {
  int64_t size = 0;
  std::vector<int64_t> starts;
};
// The fewest passes of at most `most` images for `count` images. Throws InvalidArgument for count < 1 or most < 1.
Passes plan_passes(int64_t count, int64_t most);

// Images per pass for networks of `nets`: as many as keep the largest activations (the PDNs' first layer, at
// about the input's size) within kPassActivationBytes, at least one. In one pass, `bench` with a batch of 16 images
// of 1024x1024 ran out of 24 GB, and larger batches do not run faster per image on a CPU (docs/RESULTS.md,
// "Scaling").
constexpr int64_t kPassActivationBytes = int64_t(1) << 30;
int64_t images_per_pass(const Networks& nets);

class MapComputer {
 public:
  // Prepares weights for `mode` once. Exact keeps fp32 and the paper's formulas. Fast folds the ImageNet
  // normalisation into the first convolutions and the teacher statistics into the teacher's last convolution;
  // on the CPU it runs teacher and student in int8 (oneDNN, calibrated activation ranges) when the build has
  // oneDNN, and everything else in bf16 where bf16 outruns fp32 (AMX), else fp32; fp16 on a GPU.
  // `fast_float_dtype` overrides that choice (the benchmark times both); ignored by exact.
  // `convolutions`: what runs the fp32 convolutions on a CPU (those of exact, and fast's autoencoder where it is
  // fp32). Winograd (the default where oneDNN is built in) does 4x fewer multiplications for the 3x3 and 4x4
  // layers at a few more units of fp32 rounding; Direct is LibTorch's convolution, as the paper's code runs.
  // `autoencoder`: whether fast int8 runs the decoder's largest layers in int8 too (where the model is calibrated
  // for it: runs_int8_decoder()).
  MapComputer(const Networks& nets, Mode mode, Device device,  // device: resolved (never Auto)
              std::optional<at::ScalarType> fast_float_dtype = std::nullopt,
              Convolutions convolutions = Convolutions::Winograd, FastAutoencoder autoencoder = FastAutoencoder::Int8);
  // Whether a MapComputer for `mode` on `device` runs teacher and student in int8.
  static bool uses_int8(Mode mode, Device device);
  ~MapComputer();
  // side_by_side_threads > 1: where this computer can (fast int8 without PDN padding), the teacher's and the
  // student's strips (pdn_strips.h) and the autoencoder run as separate tasks on that many threads, one thread
  // each (run_side_by_side): what the cores shared with other work need. Else the networks run one after the
  // other, each on the calling thread's OpenMP threads. Batches larger than images_per_pass() run in passes.
  RawMaps compute(const at::Tensor& rgb_u8_nhwc, int side_by_side_threads = 0) const;
  int64_t images_per_pass() const { return detail::images_per_pass(nets_); }
  bool runs_side_by_side() const { return teacher_strips_ != nullptr; }  // whether side_by_side_threads applies
  const std::string& precision() const { return precision_; }  // e.g. "fp32", "int8 PDNs + bf16 autoencoder"
  bool runs_int8() const { return teacher_int8_ != nullptr; }
  bool runs_int8_decoder() const { return decoder_int8_ != nullptr; }
  bool runs_winograd() const { return winograd_; }  // some fp32 convolutions run as Winograd products
  at::ScalarType float_dtype() const { return dtype_; }  // of what runs through LibTorch (all of exact)

 private:
  RawMaps compute_pass(const at::Tensor& rgb_u8_nhwc, int side_by_side_threads) const;
  RawMaps compute_int8(const at::Tensor& rgb_u8_nhwc, int side_by_side_threads) const;
  at::Tensor autoencoder_features(const at::Tensor& pixels) const;  // fast mode, NHWC fp32

  Mode mode_;
  at::Device device_;
  at::ScalarType dtype_;  // of the networks run through LibTorch
  std::string precision_;
  bool winograd_ = false;
  Networks nets_;
  std::unique_ptr<Int8Pdn> teacher_int8_, student_int8_;
  std::unique_ptr<Int8PdnStrips> teacher_strips_, student_strips_;  // int8 without PDN padding
  std::unique_ptr<Int8Decoder> decoder_int8_;  // the decoder from kInt8DecoderFirstLayer on
};

// The first decoder layer the int8 decoder runs: dec5..dec8 hold 2.15 of the autoencoder's 2.39 GMAC at 256x256;
// the layers before work at <= 33x33 px (the first reads the encoder's signed bottleneck, which u8 cannot hold).
constexpr size_t kInt8DecoderFirstLayer = 4;

// The int8 decoder of `net` from kInt8DecoderFirstLayer on, with the ranges of `activation_max` (per channel of the
// decoder's hidden layers).
std::unique_ptr<Int8Decoder> int8_decoder(const Autoencoder& net, const at::Tensor& activation_max);

// A tensor's values as fp32 on the host, in row-major order (what Int8LayerWeights holds).
std::vector<float> values_of(const at::Tensor& t);

// `net`'s layers for 8-bit inference on raw RGB u8 pixels (ImageNet normalisation folded into its first layer),
// with their calibrated activation ranges, as Int8Pdn and Int8PdnStrips take them. Fold the teacher statistics
// into `net` beforehand to get normalised teacher features.
std::vector<Int8LayerWeights> int8_layers(Pdn net, const at::Tensor& activation_max);

// The paper's formulas evaluated op by op in fp32 and NCHW, the way a straightforward port runs them: the
// baseline of the benchmarks and the yardstick of the exactness tests.
RawMaps reference_maps(const Networks& nets, const at::Tensor& rgb_u8_nhwc);

// Largest activation (after ReLU) of each channel of the hidden layers of `net` over a batch of
// ImageNet-normalised images, concatenated in layer order.
at::Tensor hidden_activation_max(const Pdn& net, const at::Tensor& normalised_images);

// The same for the autoencoder's decoder (its hidden layers dec1..dec7, each after its ReLU; no dropout).
at::Tensor decoder_activation_max(const Autoencoder& net, const at::Tensor& normalised_images);

// The calibration rule of the int8 activations: the largest value each hidden channel's u8 represents.
// A channel's range is kActivationHeadroom x its largest normal activation: room for anomalies that excite it
// more than any normal image did. A channel that stays quiet on normal images still gets kQuietChannelFloor of
// the layer's largest activation, so that a channel firing only on defects is not clipped to nothing. Models
// with one maximum per layer (before per-channel calibration) get that layer range on every channel.
// Throws InvalidArgument when activation_max fits neither form.
std::vector<std::vector<float>> activation_ranges(const Pdn& net, const at::Tensor& activation_max);
// The rule for any network whose hidden layers have these output channels.
std::vector<std::vector<float>> activation_ranges(const std::vector<int64_t>& hidden_channels,
                                                  const at::Tensor& activation_max);
// A distilled teacher on battery_weld, AU-PRO@30 against exact fp32 (0.380), per-layer ranges: headroom 2.0 gave
// 0.272, 1.0 0.337 (clipped anomalies), 1.5 0.380. Random teachers: the same either way (models/README.md).
constexpr float kActivationHeadroom = 1.5f;
constexpr float kQuietChannelFloor = 0.25f;

}  // namespace efficientad::detail
