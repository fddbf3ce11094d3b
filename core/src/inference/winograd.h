// Winograd minimal filtering F(m x m, r x r) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
// 2016) for the stride-1 convolutions of exact fp32 inference on a CPU.
//
// Why: a direct fp32 convolution cannot beat the FMA peak, and ONNX Runtime already runs EfficientAD-S at ~87 %
// of it. Winograd computes an m x m output tile from an (m+r-1)^2 input tile with (m+r-1)^2 multiplications per
// input/output channel pair instead of m^2 r^2: for the PDNs' 4x4 kernels at m = 3, 36 instead of 144. The
// multiplications become (m+r-1)^2 matrix products (tiles x in_channels) x (in_channels x out_channels), which
// oneDNN's matmul runs near the FMA peak; the transforms are a few percent of the work. The price is rounding:
// the transforms add and subtract values scaled by powers of 2, so results differ from a direct convolution by
// a few units of fp32 rounding more (tests/core/test_winograd.cpp bounds it against a direct convolution).
#pragma once

#include <memory>
#include <vector>

#include "model/architecture.h"

namespace efficientad::detail {

// The three transform matrices of F(m, r) for one dimension, row-major, built from the interpolation points
// 0, 1, -1, 2, -2, 1/2, -1/2 (as many as needed) and infinity: y = AT [(G g) * (BT d)] for a length-r filter g
// and a length-(m+r-1) input d, y being the m outputs of the correlation sum_k g[k] d[i + k].
struct WinogradMatrices {
  int m = 0, r = 0, alpha = 0;  // alpha = m + r - 1
  std::vector<double> bt;       // alpha x alpha
  std::vector<double> g;        // alpha x r
  std::vector<double> at;       // m x alpha
};
// Throws InvalidArgument for m < 1, r < 2 or alpha > 8 (more points than this list makes rounding grow fast).
WinogradMatrices winograd_matrices(int m, int r);

class WinogradConv {
 public:
  // Whether `spec` is a convolution this runs: stride 1, a kernel of 3 or 4, channel counts multiples of 16.
  static bool suits(const ConvSpec& spec);
  // The output tile side used for a kernel: 4 for 3x3 (F(4x4, 3x3)), 3 for 4x4 (F(3x3, 4x4)).
  static int default_tile(int kernel);

  // weight: OIHW fp32, bias: out_channels. `relu` applies max(0, .) to the output. Throws InvalidArgument when
  // !suits(spec) or no transform is compiled for the tile, Error when oneDNN cannot build the matrix product.
  // `baseline_vectors`: run the transforms' baseline x86-64 build even where the CPU has AVX-512 (tests).
  WinogradConv(const ConvSpec& spec, const float* weight, const float* bias, bool relu, int tile = 0,
               bool baseline_vectors = false);
  ~WinogradConv();
  WinogradConv(const WinogradConv&) = delete;
  WinogradConv& operator=(const WinogradConv&) = delete;

  int output_side(int input_side) const;
  // in: count x height x width x in_channels fp32 (NHWC); out: count x output_side(height) x output_side(width)
  // x out_channels. Splits the tiles over the calling thread's OpenMP threads. Thread-safe.
  void run(const float* in, int count, int height, int width, float* out) const;

  // Whether this build has oneDNN, which the matrix products need (configure with -Donednn).
  static bool available();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace efficientad::detail
