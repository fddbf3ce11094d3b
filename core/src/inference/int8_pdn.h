// A patch description network compiled for 8-bit CPU inference with oneDNN (the fast mode's teacher and student).
//
// Weights are quantised per output channel and pre-packed once; activations travel between layers as u8, which
// fits because every hidden layer ends in a ReLU; ReLU is fused into the convolutions; the last layer writes
// fp32 so that the features the anomaly maps compare carry no output rounding. The input is raw u8 RGB pixels:
// the caller folds 1/255 and the ImageNet normalisation into the first layer's weights and bias.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/architecture.h"

namespace efficientad::detail {

struct Int8LayerWeights {
  ConvSpec spec;
  std::vector<float> weight;  // OIHW, fp32, normalisations already folded in
  std::vector<float> bias;
  float activation_max = 0;   // hidden layers: largest ReLU output on normal images (calibration)
};

class Int8Pdn {
 public:
  // Throws InvalidArgument for inconsistent layers and Error when oneDNN cannot build a primitive.
  Int8Pdn(const std::vector<Int8LayerWeights>& layers, bool padding, int input_width, int input_height);
  ~Int8Pdn();
  Int8Pdn(const Int8Pdn&) = delete;
  Int8Pdn& operator=(const Int8Pdn&) = delete;

  // images: `count` packed RGB u8 images of the input size; out: count x feature_h x feature_w x out_channels
  // fp32 (NHWC). Not thread-safe.
  void run(const uint8_t* images, int count, float* out);

  // Whether this build has oneDNN (configure with -Donednn).
  static bool available();

  // Activations are quantised over [0, kHeadroom * calibrated max]: room for anomalies that excite a layer more
  // than any normal image did, traded against resolution. A distilled teacher on battery_weld, AU-PRO@30 against
  // exact fp32 (0.380): headroom 2.0 gave 0.272, 1.0 0.337 (clipped anomalies), 1.5 0.380. Random teachers: the
  // same either way (models/README.md).
  static constexpr float kHeadroom = 1.5f;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace efficientad::detail
