// A PDN's output map cut into horizontal strips that single threads compute side by side (fast mode, int8).
//
// With one of two cores kept busy by other work, a layer split statically over two threads waits at every layer
// for the thread that shares the busy core, and two threads end up slower than one. Whole strips handed out one at
// a time let that thread add whatever share of its core it gets, with one wait per image instead of one per layer.
// Without PDN padding every convolution is valid, and pooling windows stay aligned when a strip starts at a
// multiple of the network's stride, so output rows [a, b) depend on the input rows pdn_input_rows() gives alone
// and the strips together are exactly the whole map. The price is the overlap of the strips' input bands (9 % more
// work for two strips of a 256-pixel input).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "inference/int8_pdn.h"
#include "model/architecture.h"

namespace efficientad::detail {

struct RowRange {
  int begin = 0, end = 0;  // [begin, end)
  int size() const { return end - begin; }
};

// The input rows that output rows `out` of a PDN without padding read (stride-1 convolutions, 2x2 pooling of
// stride 2). Throws InvalidArgument for a layer with padding or another stride.
RowRange pdn_input_rows(const std::vector<ConvSpec>& layers, RowRange out);

// `rows` cut into `parts` ranges of sizes differing by at most one, in order.
std::vector<RowRange> split_rows(int rows, int parts);

class Int8PdnStrips {
 public:
  // The network of `layers` (as Int8Pdn takes them; without padding) on images of input_width x input_height,
  // its output rows cut into `strips`. Throws InvalidArgument for layers with padding and for more strips than
  // output rows.
  Int8PdnStrips(const std::vector<Int8LayerWeights>& layers, int input_width, int input_height, int strips,
                FirstLayer first_layer, SecondLayer second_layer);
  ~Int8PdnStrips();

  int strips() const { return int(pieces_.size()); }
  // Strip `strip` of `count` images (packed RGB u8 of the input size) into its rows of `out`, their whole maps
  // (NHWC fp32, out_channels per cell). Different strips may run at the same time on different threads; one
  // strip may not.
  void run(int strip, const uint8_t* images, int count, float* out) const;

 private:
  struct Piece {
    RowRange input, output;
    std::unique_ptr<Int8Pdn> network;  // built for the band's height
  };
  std::vector<Piece> pieces_;
  int width_, height_, out_width_, out_height_;
  int64_t out_channels_;
};

}  // namespace efficientad::detail
