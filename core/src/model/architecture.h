// The network architectures of paper Tables 6-8 as plain data. networks.cpp builds the LibTorch modules from
// these tables and model_format.cpp validates files against them, so the two can never disagree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "efficientad/model.h"

namespace efficientad::detail {

constexpr int64_t kTeacherChannels = 384;  // output channels of teacher and autoencoder; the student has twice as many

struct ConvSpec {
  std::string name;  // parameter prefix inside its network, e.g. "conv1", "enc3"
  int64_t in_channels, out_channels, kernel, stride, padding;
  bool relu;         // ReLU after the convolution
  bool avg_pool;     // 2x2 average pooling (stride 2) after the ReLU
};

// Teacher/student patch description network. Pooling padding is 1 when `padding`, as the convolutions'.
std::vector<ConvSpec> pdn_layers(Variant variant, int64_t out_channels, bool padding);
int pdn_pool_padding(bool padding);

// Autoencoder: encoder convolutions "enc1".."enc6", decoder convolutions "dec1".."dec8" (Table 8).
std::vector<ConvSpec> encoder_layers();
std::vector<ConvSpec> decoder_layers(int64_t out_channels);
// The decoder's bilinear resize targets before dec1..dec7 for one input side (Table 8 for 256: 3, 8, 15, 32, 63,
// 127, then the PDN output side so that autoencoder and student maps align).
std::vector<int> decoder_upsample_sides(int input_side, int feature_side);
constexpr double kDecoderDropout = 0.2;

// Side of one convolution's output for an input side (height or width).
int64_t conv_output_side(const ConvSpec& layer, int64_t input_side);

// Side of the PDN output map for an input side (56 for 256 without padding, 64 with).
int pdn_output_side(Variant variant, bool padding, int input_side);
// The same for a PDN's layers (pdn_layers(), or those a file or a test holds).
int pdn_output_side(const std::vector<ConvSpec>& layers, bool padding, int input_side);

// Multiply-accumulates of one image through each network at this geometry (student: all 2x384 output
// channels). Convolutions only: pooling, resizing and ReLU are memory traffic, part of the time, not the work.
struct NetworkMacs {
  int64_t teacher = 0, student = 0, autoencoder = 0;
  int64_t total() const { return teacher + student + autoencoder; }
};
NetworkMacs network_macs(const ModelGeometry& geometry);
// The autoencoder decoder's MACs from its layer `first_layer` (0-based) on.
int64_t decoder_macs_from(const ModelGeometry& geometry, size_t first_layer);

struct TensorShape {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<int64_t> older_shape = {};  // also accepted when reading: the shape older files hold
  bool optional = false;                  // older files lack it
};
// Every parameter of a network, with its shape, under `prefix` ("teacher.", "student.", "autoencoder.").
std::vector<TensorShape> conv_parameter_shapes(const std::vector<ConvSpec>& layers, const std::string& prefix);

}  // namespace efficientad::detail
