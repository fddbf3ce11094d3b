// The int8 teacher/student of the fast mode against the fp32 networks: small relative error for S, S with
// padding and M; batches equal single images; per-channel activation ranges, which leave a channel that fires
// only on defects unclipped; the fp32 first layer's remainder channels; uncalibrated or malformed layers and
// calibrations are refused.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "check_compat.h"
#include "efficientad/errors.h"
#include "inference/map_computer.h"
#include "inference/int8_pdn.h"
#include "model/networks.h"
#include "test_helpers.h"

using namespace efficientad;
namespace core = efficientad::detail;

namespace {

struct Compared {
  double relative_error, correlation;
};

Compared compare(Variant variant, bool padding, int width, int height, int count,
                 core::FirstLayer first_layer = core::FirstLayer::Int8,
                 core::SecondLayer second_layer = core::SecondLayer::Int8) {
  at::manual_seed(7);
  at::NoGradGuard no_grad;
  const ModelGeometry g{variant, width, height, padding};
  const core::Pdn net = core::make_pdn(variant, 384, padding);
  const at::Tensor pixels = at::randint(0, 256, {count, height, width, 3}, at::kByte);
  const at::Tensor normalised = core::imagenet_normalize(core::to_unit_float(pixels).contiguous());
  const auto int8 = std::make_unique<core::Int8Pdn>(core::int8_layers(net, core::hidden_activation_max(net, normalised)),
                                                    padding, width, height, first_layer, second_layer);
  at::Tensor out = at::empty({count, g.feature_height(), g.feature_width(), 384});
  int8->run(pixels.data_ptr<uint8_t>(), count, out.data_ptr<float>());
  const at::Tensor expected = net.forward(normalised).permute({0, 2, 3, 1});
  if (count > 1) {  // each image of the batch equals the same image run alone
    at::Tensor single = at::empty({1, g.feature_height(), g.feature_width(), 384});
    int8->run(pixels[1].data_ptr<uint8_t>(), 1, single.data_ptr<float>());
    ck_assert(at::allclose(single[0], out[1], 1e-5, 1e-6));
  }
  const double rel = ((out - expected).norm() / expected.norm()).item<double>();
  const double corr = at::corrcoef(at::stack({out.flatten(), expected.flatten()}))[0][1].item<double>();
  return {rel, corr};
}

void expect_invalid(const std::vector<core::Int8LayerWeights>& layers, const char* needle) {
  try {
    core::Int8Pdn pdn(layers, false, 256, 256);
    ck_abort_msg("layers accepted (expected '%s')", needle);
  } catch (const InvalidArgument& e) {
    ck_assert_msg(std::strstr(e.what(), needle), "'%s' lacks '%s'", e.what(), needle);
  }
}

// A two-layer network on raw pixels: hidden channel 0 fires only on reddish pixels ((R - G - B) / 255 x 0.55, zero
// on grey), channels 1-7 on brightness (up to 1 for white); the output layer passes channel 0 through.
struct RedDetector {
  core::Pdn net;
  std::vector<core::Int8LayerWeights> layers;
  RedDetector() {
    const core::ConvSpec hidden{"hidden", 3, 8, 1, 1, 0, true, false}, out{"out", 8, 1, 1, 1, 0, false, false};
    std::vector<float> w(8 * 3, 0.0f);
    w[0] = 0.55f / 255, w[1] = -0.55f / 255, w[2] = -0.55f / 255;
    for (int c = 1; c < 8; ++c) w[size_t(c * 3)] = w[size_t(c * 3 + 1)] = w[size_t(c * 3 + 2)] = float(c) / 7 / 765;
    std::vector<float> pass(8, 0.0f);
    pass[0] = 1.0f;
    layers = {{hidden, w, std::vector<float>(8, 0.0f), {}}, {out, pass, {0.0f}, {}}};
    for (const auto& l : layers) {
      const auto& sp = l.spec;
      net.layers.push_back({sp, at::tensor(l.weight).view({sp.out_channels, sp.in_channels, 1, 1}), at::tensor(l.bias),
                            nullptr});
    }
  }
  // Channel 0 on a (R, G, B) pixel, in fp32.
  static float red_response(float r, float g, float b) { return std::max(0.0f, 0.55f * (r - g - b) / 255); }
};

// Runs the red detector in int8 with ranges from `activation_max` on an 8x8 image of one pixel colour.
float int8_red_response(RedDetector d, const at::Tensor& activation_max, const uint8_t (&pixel)[3]) {
  const std::vector<std::vector<float>> ranges = core::activation_ranges(d.net, activation_max);
  d.layers[0].activation_range = ranges.at(0);
  core::Int8Pdn pdn(d.layers, false, 8, 8);
  std::vector<uint8_t> image(8 * 8 * 3);
  for (size_t i = 0; i < image.size(); ++i) image[i] = pixel[i % 3];
  std::vector<float> out(8 * 8);
  pdn.run(image.data(), 1, out.data());
  return out[27];
}

}  // namespace

START_TEST(int8_close_to_fp32) {
  const auto fp32 = core::FirstLayer::Fp32, remainder = core::FirstLayer::Fp32WithRemainder;
  const auto second = core::SecondLayer::Int8WithRemainder;
  const Compared cases[] = {compare(Variant::Small, false, 256, 256, 2), compare(Variant::Small, true, 256, 256, 1),
                            compare(Variant::Medium, false, 256, 256, 1), compare(Variant::Small, false, 320, 256, 1),
                            compare(Variant::Small, false, 256, 256, 2, fp32), compare(Variant::Small, true, 256, 256, 1, fp32),
                            compare(Variant::Medium, false, 256, 256, 1, fp32),
                            compare(Variant::Small, false, 256, 256, 2, remainder),
                            compare(Variant::Small, true, 256, 256, 1, remainder),
                            compare(Variant::Medium, false, 256, 256, 1, remainder),
                            compare(Variant::Small, false, 256, 256, 2, remainder, second),
                            compare(Variant::Small, true, 256, 256, 1, remainder, second),
                            compare(Variant::Medium, false, 256, 256, 1, remainder, second)};
  for (const Compared& c : cases) {
    std::printf("int8 vs fp32: relative error %.4f, correlation %.6f\n", c.relative_error, c.correlation);
    ck_assert_msg(c.relative_error < 0.05, "int8 relative error %f", c.relative_error);
    ck_assert_msg(c.correlation > 0.998, "int8 correlation %f", c.correlation);
  }
  for (int i = 4; i < 10; ++i) {  // a remainder only ever removes rounding: never a larger error
    ck_assert_msg(cases[i + 3].relative_error <= cases[i].relative_error * 1.001, "with remainder %f, without %f",
                  cases[i + 3].relative_error, cases[i].relative_error);
  }
}
END_TEST

// All 256 red levels in one 16x16 RGB image.
std::vector<uint8_t> all_red_levels() {
  std::vector<uint8_t> reds(16 * 16 * 3, 0);
  for (int i = 0; i < 256; ++i) reds[size_t(i) * 3] = uint8_t(i);
  return reds;
}

// The largest distance, in u8 steps of 1 / 255, between a one-channel PDN's output on all_red_levels() and
// 0.3 x the red level.
float largest_error_in_steps(const std::vector<core::Int8LayerWeights>& layers, core::FirstLayer first_layer,
                             core::SecondLayer second_layer = core::SecondLayer::Int8) {
  core::Int8Pdn pdn(layers, false, 16, 16, first_layer, second_layer);
  const std::vector<uint8_t> reds = all_red_levels();
  std::vector<float> result(256);
  pdn.run(reds.data(), 1, result.data());
  float largest = 0;
  for (int i = 0; i < 256; ++i) largest = std::max(largest, std::abs(result[size_t(i)] * 255 - 0.3f * float(i)));
  return largest;
}

// Hidden channel 0 is 0.3 R / 255 in u8 steps of 1 / 255 (range 1): pixel R gives 0.3 R steps, so rounding to
// u8 misses by up to half a step, while the remainder, 16 times finer, leaves at most 1/32 of a step (and the
// int8 rounding of its weight, 1/16 of the whole step's).
START_TEST(remainder_keeps_the_fraction_of_a_step_u8_rounding_drops) {
  const core::ConvSpec hidden{"hidden", 3, 1, 1, 1, 0, true, false}, out{"out", 1, 1, 1, 1, 0, false, false};
  const std::vector<core::Int8LayerWeights> layers = {{hidden, {0.3f / 255, 0.0f, 0.0f}, {0.0f}, {1.0f}},
                                                      {out, {1.0f}, {0.0f}, {}}};
  const float rounded = largest_error_in_steps(layers, core::FirstLayer::Fp32);
  const float with_remainder = largest_error_in_steps(layers, core::FirstLayer::Fp32WithRemainder);
  std::printf("largest error in u8 steps: rounded %.4f, with remainder %.4f\n", rounded, with_remainder);
  ck_assert_msg(rounded > 0.45f, "plain u8 rounding missed by only %f steps", rounded);
  ck_assert_msg(with_remainder < 0.05f, "with the remainder %f steps off", with_remainder);
}
END_TEST

// The same 0.3 R / 255 made in layer 2 of an int8 layer: layer 1 passes R / 255 through exactly (u8 steps of
// 1 / 255), layer 2 multiplies by 0.3 and rounds to its own u8 steps of 1 / 255, unless it hands on a remainder.
START_TEST(second_layer_remainder_keeps_the_fraction_of_a_step) {
  const core::ConvSpec first{"first", 3, 1, 1, 1, 0, true, false}, second{"second", 1, 1, 1, 1, 0, true, false};
  const core::ConvSpec out{"out", 1, 1, 1, 1, 0, false, false};
  const std::vector<core::Int8LayerWeights> layers = {{first, {1.0f / 255, 0.0f, 0.0f}, {0.0f}, {1.0f}},
                                                      {second, {0.3f}, {0.0f}, {1.0f}},
                                                      {out, {1.0f}, {0.0f}, {}}};
  const float rounded = largest_error_in_steps(layers, core::FirstLayer::Fp32);
  const float with_remainder =
      largest_error_in_steps(layers, core::FirstLayer::Fp32, core::SecondLayer::Int8WithRemainder);
  std::printf("layer 2, largest error in u8 steps: rounded %.4f, with remainder %.4f\n", rounded, with_remainder);
  ck_assert_msg(rounded > 0.45f, "plain u8 rounding missed by only %f steps", rounded);
  ck_assert_msg(with_remainder < 0.05f, "with the remainder %f steps off", with_remainder);
}
END_TEST

// Layer 2 reads 20 channels; channel c's weights are c + 1 and its u8 step 1, except channel 0's step of 100:
// noise weight^2 x step^2 ranks channel 0 first, then 19, 18, ...: the 16 kept are 0 and 5..19.
START_TEST(remainder_goes_to_the_channels_whose_rounding_weighs_most) {
  const core::ConvSpec next{"next", 20, 2, 3, 1, 0, true, false};
  std::vector<float> weight(2 * 20 * 9), units(20, 1.0f);
  for (size_t k = 0; k < weight.size(); ++k) weight[k] = float(k / 9 % 20 + 1) * (k % 2 ? -1.0f : 1.0f);
  units[0] = 100.0f;
  const std::vector<int> chosen = core::channels_with_remainder({next, weight, {0.0f, 0.0f}, {}}, units);
  std::vector<int> expected = {0};
  for (int c = 5; c < 20; ++c) expected.push_back(c);
  ck_assert_msg(chosen == expected, "chose %zu channels, first %d", chosen.size(), chosen.empty() ? -1 : chosen[0]);
  ck_assert(core::channels_with_remainder({next, weight, {0.0f, 0.0f}, {}}, units, 2) == (std::vector<int>{0, 19}));
  ck_assert(core::channels_with_remainder({next, weight, {0.0f, 0.0f}, {}}, units, 0).empty());
  const core::ConvSpec narrow{"narrow", 3, 1, 1, 1, 0, true, false};  // fewer than 16 channels: all of them
  ck_assert(core::channels_with_remainder({narrow, {1.0f, 2.0f, 3.0f}, {0.0f}, {}}, {1.0f, 1.0f, 1.0f}) ==
            (std::vector<int>{0, 1, 2}));
}
END_TEST

START_TEST(second_layer_remainder_without_a_third_layer_is_refused_n) {
  const core::ConvSpec hidden{"hidden", 3, 4, 1, 1, 0, true, false}, out{"out", 4, 1, 1, 1, 0, false, false};
  const std::vector<core::Int8LayerWeights> layers = {{hidden, std::vector<float>(12, 0.01f), std::vector<float>(4, 0.0f),
                                                       std::vector<float>(4, 1.0f)},
                                                      {out, std::vector<float>(4, 1.0f), {0.0f}, {}}};
  try {
    core::Int8Pdn pdn(layers, false, 8, 8, core::FirstLayer::Fp32WithRemainder, core::SecondLayer::Int8WithRemainder);
    ck_abort_msg("a second-layer remainder accepted for a PDN of 2 layers");
  } catch (const InvalidArgument& e) {
    ck_assert_msg(std::strstr(e.what(), "needs a third layer"), "%s", e.what());
  }
}
END_TEST

START_TEST(remainder_for_mismatched_layers_is_refused_n) {
  const core::ConvSpec next{"next", 4, 1, 1, 1, 0, true, false};
  for (size_t units : {3, 5}) {
    try {
      core::channels_with_remainder({next, std::vector<float>(4, 1.0f), {0.0f}, {}}, std::vector<float>(units, 1.0f));
      ck_abort_msg("%zu steps accepted for a layer of 4 input channels", units);
    } catch (const InvalidArgument& e) {
      ck_assert_msg(std::strstr(e.what(), "wrong size"), "%s", e.what());
    }
  }
}
END_TEST

START_TEST(channel_quiet_on_normal_images_is_not_clipped) {
  // Calibrated on grey images: channel 0 never fired (the 1e-6 a dead channel keeps), the others up to 1.
  std::vector<float> maxima = {1e-6f};
  for (int c = 1; c < 8; ++c) maxima.push_back(float(c) / 7);
  const RedDetector d;
  const std::vector<std::vector<float>> ranges = core::activation_ranges(d.net, at::tensor(maxima));
  ck_assert_float_eq_tol(ranges[0][0], core::kActivationHeadroom * core::kQuietChannelFloor, 1e-6);
  ck_assert_float_eq_tol(ranges[0][7], core::kActivationHeadroom * 1.0f, 1e-6);
  ck_assert_float_eq_tol(ranges[0][1], core::kActivationHeadroom * std::max(1.0f / 7, core::kQuietChannelFloor), 1e-6);
  // A red defect drives channel 0 to 0.3, 30 % of the layer's largest normal activation: represented, not
  // clipped to the ~1e-6 its own normal range would give.
  const uint8_t red[3] = {200, 30, 30};
  const float expected = RedDetector::red_response(200, 30, 30);
  const float got = int8_red_response(d, at::tensor(maxima), red);
  std::printf("defect-only channel: fp32 %.4f, int8 %.4f (range %.3f)\n", expected, got, ranges[0][0]);
  ck_assert_msg(std::abs(got - expected) < 0.01f * expected, "int8 %f vs fp32 %f", got, expected);
  const uint8_t grey[3] = {128, 128, 128};
  ck_assert_float_eq_tol(int8_red_response(d, at::tensor(maxima), grey), 0.0f, 1e-6);
}
END_TEST

// The first layer's hidden channel 0 is R + 0.003 G (per 255): int8 weights in 127 steps of the largest round the
// 0.003 away, so a pure green pixel gives 0; with FirstLayer::Fp32 it gives 0.003 (u8 steps of 0.01 / 255).
START_TEST(fp32_first_layer_keeps_a_weight_int8_rounds_away) {
  const core::ConvSpec hidden{"hidden", 3, 1, 1, 1, 0, true, false}, out{"out", 1, 1, 1, 1, 0, false, false};
  const std::vector<core::Int8LayerWeights> layers = {{hidden, {1.0f / 255, 0.003f / 255, 0.0f}, {0.0f}, {0.01f}},
                                                      {out, {1.0f}, {0.0f}, {}}};
  const auto response = [&](core::FirstLayer first_layer) {
    core::Int8Pdn pdn(layers, false, 8, 8, first_layer);
    std::vector<uint8_t> green(8 * 8 * 3, 0);
    for (size_t i = 1; i < green.size(); i += 3) green[i] = 255;
    std::vector<float> result(8 * 8);
    pdn.run(green.data(), 1, result.data());
    return result[27];
  };
  const float int8 = response(core::FirstLayer::Int8), fp32 = response(core::FirstLayer::Fp32);
  std::printf("0.003 G: int8 first layer %.5f, fp32 first layer %.5f\n", int8, fp32);
  ck_assert_float_eq_tol(int8, 0.0f, 1e-6);
  ck_assert_float_eq_tol(fp32, 0.003f, 0.00003f);
}
END_TEST

START_TEST(per_layer_calibration_of_older_models_gives_every_channel_the_layer_range) {
  const RedDetector d;
  const auto ranges = core::activation_ranges(d.net, at::tensor(std::vector<float>{2.0f}));
  ck_assert_uint_eq(ranges.size(), 1);
  ck_assert_uint_eq(ranges[0].size(), 8);
  for (float r : ranges[0]) ck_assert_float_eq_tol(r, core::kActivationHeadroom * 2.0f, 1e-6);
}
END_TEST

START_TEST(calibration_of_the_wrong_size_is_refused_n) {
  const RedDetector d;
  for (size_t n : {0, 2, 7, 9}) {
    try {
      core::activation_ranges(d.net, at::ones({int64_t(n)}));
      ck_abort_msg("%zu activation maxima accepted for 1 hidden layer of 8 channels", n);
    } catch (const InvalidArgument& e) {
      ck_assert_msg(std::strstr(e.what(), "activation maxima"), "%s", e.what());
    }
  }
}
END_TEST

START_TEST(int8_refuses_bad_layers_n) {
  const auto specs = core::pdn_layers(Variant::Small, 384, false);
  std::vector<core::Int8LayerWeights> layers;
  for (const auto& spec : specs) {
    const size_t w = size_t(spec.out_channels * spec.in_channels * spec.kernel * spec.kernel);
    const auto oc = size_t(spec.out_channels);
    layers.push_back({spec, std::vector<float>(w, 0.01f), std::vector<float>(oc, 0.0f), std::vector<float>(oc, 1.0f)});
  }
  auto uncalibrated = layers;
  uncalibrated[1].activation_range[5] = 0.0f;
  expect_invalid(uncalibrated, "not calibrated");
  auto per_layer_range = layers;
  per_layer_range[0].activation_range = {1.0f};
  expect_invalid(per_layer_range, "one range per channel");
  auto short_weights = layers;
  short_weights[2].weight.pop_back();
  expect_invalid(short_weights, "wrong size");
  auto grey_input = layers;
  grey_input[0].spec.in_channels = 1;
  expect_invalid(grey_input, "RGB first layer");
  expect_invalid({}, "RGB first layer");
}
END_TEST

int main() {
  if (!core::Int8Pdn::available()) {
    std::puts("SKIP: this build has no oneDNN, so no int8 path to test");
    return 77;
  }
  return test::run_cases("int8", {
      {"positive", TESTS(int8_close_to_fp32, channel_quiet_on_normal_images_is_not_clipped,
                         fp32_first_layer_keeps_a_weight_int8_rounds_away,
                         remainder_keeps_the_fraction_of_a_step_u8_rounding_drops,
                         second_layer_remainder_keeps_the_fraction_of_a_step,
                         remainder_goes_to_the_channels_whose_rounding_weighs_most,
                         per_layer_calibration_of_older_models_gives_every_channel_the_layer_range)},
      {"negative", TESTS(int8_refuses_bad_layers_n, calibration_of_the_wrong_size_is_refused_n,
                         second_layer_remainder_without_a_third_layer_is_refused_n,
                         remainder_for_mismatched_layers_is_refused_n)},
  }, test::Fork::None);
}
