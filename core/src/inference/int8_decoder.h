// The autoencoder's decoder from one of its layers on, compiled for 8-bit CPU inference with oneDNN (fast mode's
// autoencoder where the model carries the decoder's activation ranges).
//
// At 256x256 input the decoder's last four layers (dec5..dec8, at 56..128 px) hold 90 % of the autoencoder's MACs;
// the layers before them work at <= 33x33 px and read the encoder's signed bottleneck, so they stay with LibTorch.
// As in Int8Pdn, weights are quantised per output channel and pre-packed once, activations travel as u8 with a
// calibrated range per channel (the bilinear resizes run on the u8 values, rounding to nearest), ReLU is fused, and
// the output layer writes fp32.
#pragma once

#include <memory>
#include <vector>

#include "inference/int8_pdn.h"

namespace efficientad::detail {

struct DecoderResize {
  int height = 0, width = 0;  // 0: the layer reads its input unresized
};

class Int8Decoder {
 public:
  // layers: the decoder's layers from the first one run here to the output layer, hidden ones with their
  // activation ranges; resizes[i]: the size layer i's input is resized to first; input_range: per channel, the
  // range of the input (the activation range of the layer before). Throws InvalidArgument for inconsistent
  // layers and Error for a build without oneDNN.
  Int8Decoder(const std::vector<Int8LayerWeights>& layers, const std::vector<DecoderResize>& resizes,
              const std::vector<float>& input_range, int input_width, int input_height);
  ~Int8Decoder();
  Int8Decoder(const Int8Decoder&) = delete;
  Int8Decoder& operator=(const Int8Decoder&) = delete;

  // input: `count` fp32 NHWC maps of the input size and channels (ReLU'd: >= 0); out: count x H x W x C fp32 of
  // the output layer. Not thread-safe.
  void run(const float* input, int count, float* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace efficientad::detail
