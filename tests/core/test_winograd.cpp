// Winograd convolutions of exact fp32 inference: the transform matrices reproduce the correlation, the
// convolutions match LibTorch's direct ones (kernels 3 and 4, padding, several images, non-square planes),
// exact maps with Winograd stay within 1e-4 of the direct convolutions' (the bound against naive), and
// layers, tiles and inputs it cannot run are refused with a message.
#include <ATen/ATen.h>

#include <cstdio>
#include <cstring>
#include <random>

#include "check_compat.h"
#include "efficientad/errors.h"
#include "inference/map_computer.h"
#include "inference/winograd.h"
#include "model/model_file.h"
#include "random_networks.h"
#include "test_helpers.h"

using namespace efficientad;
namespace core = efficientad::detail;

namespace {

// Largest |a - b| over the largest |b|.
double relative_difference(const at::Tensor& a, const at::Tensor& b) {
  return ((a.to(at::kDouble) - b.to(at::kDouble)).abs().max() / b.to(at::kDouble).abs().max()).item<double>();
}

// A Winograd convolution of random weights against at::conv2d in double precision on `count` random ReLU'd
// images of width x height.
double winograd_error(const core::ConvSpec& spec, int width, int height, int count, int tile = 0,
                      bool baseline_vectors = false) {
  at::manual_seed(11);
  const at::Tensor weight = at::randn({spec.out_channels, spec.in_channels, spec.kernel, spec.kernel}) /
                            std::sqrt(double(spec.in_channels * spec.kernel * spec.kernel));
  const at::Tensor bias = at::randn({spec.out_channels}) * 0.1;
  const at::Tensor x = at::relu(at::randn({count, spec.in_channels, height, width}));
  core::WinogradConv conv(spec, weight.data_ptr<float>(), bias.data_ptr<float>(), spec.relu, tile, baseline_vectors);
  const at::Tensor nhwc = x.permute({0, 2, 3, 1}).contiguous();
  const int oh = conv.output_side(height), ow = conv.output_side(width);
  at::Tensor out = at::full({count, oh, ow, spec.out_channels}, 1e30f);  // every value must be written
  conv.run(nhwc.data_ptr<float>(), count, height, width, out.data_ptr<float>());
  at::Tensor expected = at::conv2d(x.to(at::kDouble), weight.to(at::kDouble), bias.to(at::kDouble), {1, 1},
                                   {spec.padding, spec.padding});
  if (spec.relu) expected = at::relu(expected);
  return relative_difference(out, expected.permute({0, 2, 3, 1}));
}

}  // namespace

START_TEST(matrices_reproduce_the_correlation) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-1, 1);
  for (const auto& [m, r] : {std::pair{2, 3}, {4, 3}, {2, 4}, {3, 4}}) {
    const core::WinogradMatrices w = core::winograd_matrices(m, r);
    const int a = w.alpha;
    ck_assert_int_eq(a, m + r - 1);
    std::vector<double> g(static_cast<size_t>(r)), d(static_cast<size_t>(a));
    for (auto& v : g) v = u(rng);
    for (auto& v : d) v = u(rng);
    for (int i = 0; i < m; ++i) {
      double direct = 0, winograd = 0;
      for (int k = 0; k < r; ++k) direct += g[size_t(k)] * d[size_t(i + k)];
      for (int j = 0; j < a; ++j) {
        double gj = 0, dj = 0;
        for (int k = 0; k < r; ++k) gj += w.g[size_t(j * r + k)] * g[size_t(k)];
        for (int k = 0; k < a; ++k) dj += w.bt[size_t(j * a + k)] * d[size_t(k)];
        winograd += w.at[size_t(i * a + j)] * gj * dj;
      }
      ck_assert_msg(std::abs(direct - winograd) < 1e-12, "F(%d, %d) output %d: %f vs %f", m, r, i, winograd, direct);
    }
  }
}
END_TEST

START_TEST(convolutions_match_direct_ones) {
  struct Case {
    core::ConvSpec spec;
    int width, height, count, tile;
  };
  const Case cases[] = {
      {{"pdn_conv2", 128, 256, 4, 1, 0, true, true}, 70, 41, 2, 0},  // tiles cut at both edges, two images
      {{"pdn_conv3_padded", 64, 96, 3, 1, 1, true, false}, 29, 33, 1, 0},
      {{"decoder", 64, 64, 4, 1, 2, true, false}, 15, 15, 3, 0},
      {{"no_relu", 32, 48, 3, 1, 0, false, false}, 20, 18, 1, 0},
      {{"small_tile", 32, 32, 4, 1, 1, true, false}, 21, 21, 1, 2},
      {{"tiny_plane", 16, 16, 4, 1, 0, true, false}, 4, 4, 1, 0},  // a single output pixel
  };
  for (const bool baseline_vectors : {false, true}) {  // the AVX-512 build of the transforms and the baseline one
    for (const Case& c : cases) {
      const double err = winograd_error(c.spec, c.width, c.height, c.count, c.tile, baseline_vectors);
      std::printf("%s%s: Winograd vs direct (double) %.2e\n", c.spec.name.c_str(),
                  baseline_vectors ? " (baseline vectors)" : "", err);
      ck_assert_msg(err < 2e-5, "%s: relative error %g", c.spec.name.c_str(), err);
    }
  }
}
END_TEST

// The bound: exact maps within 1e-4 (relative to the largest value) of the direct convolutions'.
START_TEST(exact_maps_with_winograd_match_direct_convolutions) {
  at::NoGradGuard no_grad;
  for (const bool padding : {false, true}) {
    const core::Networks nets = test::random_networks(ModelGeometry{Variant::Small, 256, 256, padding}, 3);
    const core::MapComputer winograd(nets, Mode::Exact, Device::Cpu, std::nullopt, Convolutions::Winograd);
    const core::MapComputer direct(nets, Mode::Exact, Device::Cpu, std::nullopt, Convolutions::Direct);
    ck_assert_msg(std::strstr(winograd.precision().c_str(), "Winograd"), "precision '%s'", winograd.precision().c_str());
    ck_assert_msg(!std::strstr(direct.precision().c_str(), "Winograd"), "precision '%s'", direct.precision().c_str());
    const at::Tensor pixels = at::randint(0, 256, {2, 256, 256, 3}, at::kByte);
    const core::RawMaps a = winograd.compute(pixels), b = direct.compute(pixels);
    const double st = relative_difference(a.st, b.st), ae = relative_difference(a.ae, b.ae);
    std::printf("padding %d: map difference local %.2e, global %.2e\n", int(padding), st, ae);
    ck_assert_msg(st < 1e-4 && ae < 1e-4, "maps differ by %g / %g", st, ae);
  }
}
END_TEST

START_TEST(batch_equals_single_images) {
  const core::ConvSpec spec{"conv", 32, 64, 4, 1, 0, true, false};
  at::manual_seed(2);
  const at::Tensor w = at::randn({64, 32, 4, 4}) * 0.05, b = at::randn({64});
  const core::WinogradConv conv(spec, w.data_ptr<float>(), b.data_ptr<float>(), true);
  const at::Tensor x = at::randn({3, 23, 19, 32});
  at::Tensor batch = at::empty({3, 20, 16, 64}), single = at::empty({1, 20, 16, 64});
  conv.run(x.data_ptr<float>(), 3, 23, 19, batch.data_ptr<float>());
  const at::Tensor third = x[2].contiguous();
  conv.run(third.data_ptr<float>(), 1, 23, 19, single.data_ptr<float>());
  ck_assert(at::equal(single[0], batch[2]));
}
END_TEST

START_TEST(layers_winograd_cannot_run_are_refused_n) {
  const float w[1] = {0}, b[1] = {0};
  test::expect_throw<InvalidArgument>([&] { core::WinogradConv({"enc1", 32, 32, 4, 2, 1, true, false}, w, b, true); }, "enc1");
  test::expect_throw<InvalidArgument>([&] { core::WinogradConv({"enc6", 64, 64, 8, 1, 0, false, false}, w, b, false); }, "3x3 or 4x4");
  test::expect_throw<InvalidArgument>([&] { core::WinogradConv({"conv1", 3, 128, 4, 1, 0, true, true}, w, b, true); }, "multiples of 16");
  ck_assert(!core::WinogradConv::suits({"conv3", 512, 512, 1, 1, 0, true, false}));
}
END_TEST

START_TEST(tiles_without_a_transform_are_refused_n) {
  test::expect_throw<InvalidArgument>([] { core::winograd_matrices(0, 3); }, "F(0, 3)");
  test::expect_throw<InvalidArgument>([] { core::winograd_matrices(2, 1); }, "r >= 2");
  test::expect_throw<InvalidArgument>([] { core::winograd_matrices(6, 4); }, "<= 8");
  std::vector<float> w(16 * 16 * 16, 0.0f), b(16, 0.0f);
  // F(5, 4) has matrices (alpha 8) but no compiled transform
  test::expect_throw<InvalidArgument>([&] { core::WinogradConv({"c", 16, 16, 4, 1, 0, true, false}, w.data(), b.data(), true, 5); },
                 "no compiled transform");
}
END_TEST

START_TEST(inputs_smaller_than_the_kernel_are_refused_n) {
  std::vector<float> w(16 * 16 * 16, 0.0f), b(16, 0.0f), x(16 * 3 * 3, 0.0f), out(16 * 16, 0.0f);
  const core::WinogradConv conv({"conv4", 16, 16, 4, 1, 0, true, false}, w.data(), b.data(), true);
  test::expect_throw<InvalidArgument>([&] { conv.run(x.data(), 1, 3, 3, out.data()); }, "3x3");
  test::expect_throw<InvalidArgument>([&] { conv.run(x.data(), 0, 4, 4, out.data()); }, "0 images");
}
END_TEST

int main() {
  if (!core::WinogradConv::available()) {
    std::puts("SKIP: this build has no oneDNN, so no Winograd convolutions to test");
    return 77;
  }
  return test::run_cases("winograd", {
      {"positive", TESTS(matrices_reproduce_the_correlation, convolutions_match_direct_ones,
                         exact_maps_with_winograd_match_direct_convolutions, batch_equals_single_images)},
      {"negative", TESTS(layers_winograd_cannot_run_are_refused_n, tiles_without_a_transform_are_refused_n,
                         inputs_smaller_than_the_kernel_are_refused_n)},
  }, test::Fork::None);
}
