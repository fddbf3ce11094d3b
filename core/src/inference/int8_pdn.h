// A patch description network compiled for 8-bit CPU inference with oneDNN (the fast mode's teacher and student).
//
// Weights are quantised per output channel (or the first layer's stay fp32: FirstLayer) and pre-packed once;
// activations travel between layers as u8, which
// fits because every hidden layer ends in a ReLU, each channel with its own range (its scale is folded into the
// next layer's weights); ReLU is fused into the convolutions; the last layer writes fp32 so that the features
// the anomaly maps compare carry no output rounding. The input is raw u8 RGB pixels: the caller folds 1/255 and
// the ImageNet normalisation into the first layer's weights and bias.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/architecture.h"

namespace efficientad::detail {

// Whether the first convolution rounds its weights to int8 too. The teacher's fp32 first layer removed about three
// quarters of the local map's int8 error on distilled teachers; the student's rounding there costs almost nothing
// (tests/bench/int8_error_budget.cpp), and fp32 there costs ~8 ms per network and 256x256 image on 2 cores.
// Fp32WithRemainder: as Fp32, and the kRemainderChannels channels whose u8 rounding weighs most in layer 2 also
// hand on what the rounding dropped, in steps kRemainderSteps times finer, as extra input channels of layer 2.
// On a battery_weld model the layer-1 hand-off was two thirds of the local map's int8 error; this removes nearly
// all of it for 1/8 more MACs in layer 2.
enum class FirstLayer { Int8, Fp32, Fp32WithRemainder };
// SecondLayer::Int8WithRemainder: the second layer's int8 convolution writes fp32, which is pooled before it is
// rounded to u8, and its kSecondLayerRemainderChannels channels whose rounding weighs most in layer 3 hand on
// a remainder as the first layer's do. With the first layer's remainder in place, the teacher's layer-2 hand-off was most
// of the local map's int8 error left on a battery_weld model: this took it from 5.0 % to 1.9 % of the map
// (tests/bench/int8_error_budget.cpp).
enum class SecondLayer { Int8, Int8WithRemainder };
constexpr int kRemainderChannels = 16;  // one AVX-512 block of u8 channels
// Layer 2's: its remainder channels cost only layer-3 MACs (1/8 more with 32); 32 instead of 16 took the AU-PRO@30
// gap to exact from 1.2 to 1.0 points on a battery_weld model, 0.1 to 0.0 on magnetic_tile (docs/RESULTS.md).
constexpr int kSecondLayerRemainderChannels = 32;
constexpr float kRemainderSteps = 16.0f;

struct Int8LayerWeights {
  ConvSpec spec;
  std::vector<float> weight;  // OIHW, fp32, normalisations already folded in
  std::vector<float> bias;
  std::vector<float> activation_range;  // hidden layers: per output channel, the largest value u8 represents
};

// The first layer's output channels whose u8 rounding adds the most noise to the next layer: largest
// sum over outputs and taps of weight^2 x step^2, steps being `units` (its activation range / 255); at most
// `count` (default kRemainderChannels), in increasing order.
std::vector<int> channels_with_remainder(const Int8LayerWeights& next, const std::vector<float>& units,
                                         int count = kRemainderChannels);

class Int8Pdn {
 public:
  // Throws InvalidArgument for inconsistent layers (or a second-layer remainder without a third layer) and
  // Error when oneDNN cannot build a primitive.
  Int8Pdn(const std::vector<Int8LayerWeights>& layers, bool padding, int input_width, int input_height,
          FirstLayer first_layer = FirstLayer::Int8, SecondLayer second_layer = SecondLayer::Int8);
  ~Int8Pdn();
  Int8Pdn(const Int8Pdn&) = delete;
  Int8Pdn& operator=(const Int8Pdn&) = delete;

  // images: `count` packed RGB u8 images of the input size; out: count x feature_h x feature_w x out_channels
  // fp32 (NHWC). Not thread-safe.
  void run(const uint8_t* images, int count, float* out);

  // Whether this build has oneDNN (configure with -Donednn).
  static bool available();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace efficientad::detail
