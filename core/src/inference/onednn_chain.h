// What the 8-bit networks (int8_pdn.h, int8_decoder.h) share: a layer in integer form and a chain of oneDNN
// primitives and our own steps over NHWC buffers. Included by .cpp files of builds with oneDNN only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "inference/int8_pdn.h"

namespace efficientad::detail {

// One layer in integer form. oneDNN computes dst = output_scale[oc] * (sum(src_u8 * weight_s8) + bias[oc]).
// An fp32 first layer (FirstLayer::Fp32) keeps float_weight and a bias in real units. A layer with u8_scale
// writes fp32 in real units instead of u8; pooled in fp32, that is rounded to u8 steps of 1 / u8_scale[oc].
struct QuantisedLayer {
  ConvSpec spec;
  std::vector<int8_t> weight;       // OIHW; empty for the fp32 first layer
  std::vector<float> float_weight;  // OIHW; the fp32 first layer only
  std::vector<float> bias;          // in accumulator units (int8) or real units (fp32)
  std::vector<float> output_scale;  // per output channel, int8 layers
  bool hidden;                      // ReLU and a u8 hand-off; else the fp32 output layer
  std::vector<float> u8_scale;      // per output channel: rounded to u8 after the pooling, by our own step
  std::vector<int> remainder_channels;  // with u8_scale: channels that also hand on their rounding remainder
  bool fp32() const { return !float_weight.empty(); }
  bool rounds_after_pool() const { return !u8_scale.empty(); }
};

// The real value of one u8 step of each channel of the given activation ranges (range / 255). Throws
// InvalidArgument, naming `what`, for a range <= 0 or NaN.
std::vector<float> units_of_ranges(const std::vector<float>& ranges, const std::string& what);
// The same for the output channels of a hidden layer; 1 for the fp32 output layer. Throws InvalidArgument for a
// hidden layer without a positive range per channel.
std::vector<float> output_units(const Int8LayerWeights& l, bool hidden);

// Layer l in integer form for inputs arriving as u8 in steps of input_units[c] (the channels in `remainder` a
// second time after the others, kRemainderSteps times finer): conv(W, x) == conv(W * unit, x_u8), so the units
// move into the weights, which are then quantised per output channel. A hidden layer writes u8 in steps of
// `units`, or with round_after_pool fp32 in real units that the caller rounds; the output layer writes fp32.
QuantisedLayer quantise_layer(const Int8LayerWeights& l, const std::vector<float>& input_units,
                              const std::vector<int>& remainder, const std::vector<float>& units, bool hidden,
                              bool round_after_pool);

// A sequence of steps over oneDNN memories, built once for a batch size and thread count (oneDNN fixes a
// primitive's thread split when it is created), then run as often as needed. The append functions add a step and
// return its output memory (NHWC).
class OnednnChain {
 public:
  using memory = dnnl::memory;

  // Whether the steps were built for `count` images on as many OpenMP threads as the caller has now (oneDNN fixes
  // a primitive's thread split when it is created); build() clears them and records both.
  bool built_for(int count) const;
  void build(int count);
  // src -> conv (+ ReLU for hidden layers) -> a new dst of type `dst_type`; int8 layers scale per output channel.
  // The output layer's dst (not hidden) has no buffer: the caller sets its handle before run().
  memory append_conv(const QuantisedLayer& l, const memory& src, memory::dim padding, memory::data_type dst_type);
  // 2x2 average pooling, stride 2, in src's data type, counting `padding` zeros as PyTorch's AvgPool2d does
  // (count_include_pad); a trailing odd row/column is dropped.
  memory append_pool(const memory& src, memory::dim padding);
  // src converted to `type` (rounded to nearest and saturated for u8), times scale[c] per channel if given.
  memory append_reorder(const memory& src, memory::data_type type, const std::vector<float>& scale);
  // src (fp32) to u8 steps of 1 / l.u8_scale[c], rounded to nearest; l.remainder_channels round down instead,
  // and what that dropped follows, in steps kRemainderSteps times finer, as channels C, C + 1, ...
  memory append_u8_with_remainder(const memory& src, const QuantisedLayer& l);
  // Bilinear resize to height x width in src's data type (rounded to nearest for u8), with half-pixel centres:
  // PyTorch's upsample_bilinear2d with align_corners=False, which the autoencoder's decoder uses.
  memory append_resize(const memory& src, memory::dim height, memory::dim width);
  // Runs the steps and waits for them. Throws Error when oneDNN fails.
  void run();

  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};

 private:
  void append_primitive(const dnnl::primitive& primitive, const std::unordered_map<int, memory>& args);

  std::vector<std::function<void()>> steps_;
  int built_count_ = 0, built_threads_ = 0;
};

}  // namespace efficientad::detail
