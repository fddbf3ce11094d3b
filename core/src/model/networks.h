// The networks as functions of their weight tensors (ATen only, no torch::nn): the same code serves training
// (tensors with requires_grad), exact inference and the fast path's transformed weights.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "model/architecture.h"

namespace efficientad::detail {

class WinogradConv;

struct Conv {
  ConvSpec spec;
  at::Tensor weight, bias;
  // Inference only: when set, CPU fp32 inputs without gradients run through it (bias and, when spec.relu, the
  // ReLU included) instead of at::conv2d. See inference/winograd.h.
  std::shared_ptr<const WinogradConv> winograd;
  at::Tensor operator()(const at::Tensor& x) const;
  bool runs_winograd(const at::Tensor& x) const;
};

// Gives every layer of `layers` that WinogradConv suits one, from its current fp32 weights (call after the
// weights have their final values). Returns whether it attached any (none in a build without oneDNN).
bool attach_winograd(std::vector<Conv>& layers);

// Patch description network (teacher or student), Tables 6-7.
struct Pdn {
  Variant variant = Variant::Small;
  bool padding = false;
  std::vector<Conv> layers;

  at::Tensor forward(const at::Tensor& x) const;
  // forward(x).narrow(1, first, count), computing only those channels of the last convolution. For M the last
  // layer is a 1x1 convolution, the only one that is narrowed.
  at::Tensor forward_channels(const at::Tensor& x, int64_t first, int64_t count) const;
  // The two halves of forward_channels, so that a batch can share the body and use different channels.
  at::Tensor body(const at::Tensor& x) const;
  at::Tensor head(const at::Tensor& features, int64_t first, int64_t count) const;
  int64_t out_channels() const { return layers.back().spec.out_channels; }
};

// Autoencoder, Table 8, with decoder resize targets derived from the input size.
struct Autoencoder {
  std::vector<Conv> encoder, decoder;
  std::vector<int> upsample_heights, upsample_widths;

  at::Tensor forward(const at::Tensor& x, bool train) const;  // train: decoder dropout active
  // forward's parts in inference (no dropout): the encoder, and decoder layer i (its bilinear resize if it has one,
  // then its convolution).
  at::Tensor encode(const at::Tensor& x) const;
  at::Tensor decode_layer(size_t i, const at::Tensor& x) const;
};

// PyTorch's default Conv2d initialisation (kaiming_uniform with a = sqrt(5), bias U(+-1/sqrt(fan_in))), drawn
// from ATen's default generator: seed it with at::manual_seed first.
Pdn make_pdn(Variant variant, int64_t out_channels, bool padding);
Autoencoder make_autoencoder(const ModelGeometry& geometry);

// Every weight and bias, in layer order (for optimisers and serialisation).
std::vector<at::Tensor> parameters(const Pdn& net);
std::vector<at::Tensor> parameters(const Autoencoder& net);
std::vector<Conv*> conv_layers(Pdn& net);
std::vector<Conv*> conv_layers(Autoencoder& net);

// The ImageNet normalisation every network input gets (paper A.1).
constexpr float kImageNetMean[3] = {0.485f, 0.456f, 0.406f};
constexpr float kImageNetStd[3] = {0.229f, 0.224f, 0.225f};
// uint8 NHWC RGB batch -> float NCHW in [0, 1] (a channels-last view, no copy of layout).
at::Tensor to_unit_float(const at::Tensor& rgb_u8_nhwc);
at::Tensor imagenet_normalize(const at::Tensor& unit_nchw);

}  // namespace efficientad::detail
