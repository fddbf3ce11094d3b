// Fast mode's int8 decoder (inference/int8_decoder.h) against the fp32 autoencoder: close for square and wide
// inputs, batches equal single images; its u8 resizes land where PyTorch's bilinear resize does; the map
// computer uses it only where the model is calibrated for it and --autoencoder int8 asks for it; inconsistent
// layers, resizes and calibrations are refused.
#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <memory>

#include "check_compat.h"
#include "efficientad/errors.h"
#include "inference/int8_decoder.h"
#include "inference/map_computer.h"
#include "model/networks.h"
#include "random_networks.h"
#include "test_helpers.h"

using namespace efficientad;
namespace core = efficientad::detail;

namespace {

struct Compared {
  double relative_error, correlation;
};

// The int8 decoder of a random autoencoder, calibrated on `count` random images, on those images' head (the
// fp32 encoder and first decoder layers) against the fp32 decoder.
Compared compare(int width, int height, int count) {
  at::NoGradGuard no_grad;
  const ModelGeometry g{Variant::Small, width, height, false};
  const core::Networks nets = test::random_networks(g, 11);
  const core::Autoencoder& ae = nets.autoencoder;
  at::manual_seed(12);
  const at::Tensor images = core::imagenet_normalize(at::rand({count, 3, height, width}));
  std::unique_ptr<core::Int8Decoder> decoder = core::int8_decoder(ae, core::decoder_activation_max(ae, images));
  at::Tensor head = ae.encode(images);
  for (size_t i = 0; i < core::kInt8DecoderFirstLayer; ++i) head = ae.decode_layer(i, head);
  head = head.permute({0, 2, 3, 1}).contiguous();
  at::Tensor out = at::empty({count, g.feature_height(), g.feature_width(), core::kTeacherChannels});
  decoder->run(head.data_ptr<float>(), count, out.data_ptr<float>());
  const at::Tensor expected = ae.forward(images, false).permute({0, 2, 3, 1});
  if (count > 1) {  // each image of the batch equals the same image run alone
    at::Tensor single = at::empty({1, g.feature_height(), g.feature_width(), core::kTeacherChannels});
    decoder->run(head[1].contiguous().data_ptr<float>(), 1, single.data_ptr<float>());
    ck_assert(at::allclose(single[0], out[1], 1e-5, 1e-6));
  }
  const double rel = ((out - expected).norm() / expected.norm()).item<double>();
  const double corr = at::corrcoef(at::stack({out.flatten(), expected.flatten()}))[0][1].item<double>();
  return {rel, corr};
}

// A decoder of one output layer that passes its `channels` input channels through (a 1x1 identity), after a
// resize to out_height x out_width: it shows the resize alone, with inputs in whole u8 steps (range 255).
at::Tensor resized_by_int8_decoder(const at::Tensor& input_nhwc, int out_height, int out_width) {
  const auto channels = int(input_nhwc.size(3));
  const core::ConvSpec pass{"pass", channels, channels, 1, 1, 0, false, false};
  std::vector<float> identity(size_t(channels * channels), 0.0f);
  for (int c = 0; c < channels; ++c) identity[size_t(c * channels + c)] = 1.0f;
  core::Int8Decoder decoder({{pass, identity, std::vector<float>(size_t(channels), 0.0f), {}}},
                            {{out_height, out_width}}, std::vector<float>(size_t(channels), 255.0f),
                            int(input_nhwc.size(2)), int(input_nhwc.size(1)));
  at::Tensor out = at::empty({input_nhwc.size(0), out_height, out_width, channels});
  const at::Tensor in = input_nhwc.contiguous();
  decoder.run(in.data_ptr<float>(), int(in.size(0)), out.data_ptr<float>());
  return out;
}

// Decoder layers dec5..dec8 of a random autoencoder, calibrated, as int8_decoder() builds them.
struct DecoderParts {
  std::vector<core::Int8LayerWeights> layers;
  std::vector<core::DecoderResize> resizes;
  std::vector<float> input_range;
  DecoderParts() {
    const core::Autoencoder ae = core::make_autoencoder(ModelGeometry{});
    for (size_t i = core::kInt8DecoderFirstLayer; i < ae.decoder.size(); ++i) {
      const core::Conv& c = ae.decoder[i];
      const bool hidden = i + 1 < ae.decoder.size();
      layers.push_back({c.spec, core::values_of(c.weight), core::values_of(c.bias),
                        hidden ? std::vector<float>(size_t(c.spec.out_channels), 1.0f) : std::vector<float>{}});
      resizes.push_back(i < ae.upsample_heights.size() ? core::DecoderResize{ae.upsample_heights[i], ae.upsample_widths[i]}
                                                       : core::DecoderResize{});
    }
    input_range.assign(64, 1.0f);
  }
  void expect_invalid(const char* needle) const {
    test::expect_throw<InvalidArgument>([&] { core::Int8Decoder d(layers, resizes, input_range, 33, 33); }, needle);
  }
};

}  // namespace

START_TEST(int8_decoder_close_to_fp32) {
  const Compared cases[] = {compare(256, 256, 2), compare(320, 256, 1), compare(256, 296, 1)};
  for (const Compared& c : cases) {
    std::printf("int8 decoder vs fp32: relative error %.4f, correlation %.6f\n", c.relative_error, c.correlation);
    ck_assert_msg(c.relative_error < 0.05, "int8 decoder relative error %f", c.relative_error);
    ck_assert_msg(c.correlation > 0.998, "int8 decoder correlation %f", c.correlation);
  }
}
END_TEST

// Up (33 -> 63, 3 -> 8) and down (128 -> 56, the decoder's last resize), square and not: within the half u8 step
// that rounding the resized values costs (ties at .5 may go either way after oneDNN's float weights), where a
// resize off by half a pixel would miss by many steps on noise.
START_TEST(u8_resize_lands_where_pytorch_bilinear_does) {
  at::manual_seed(3);
  const int sizes[][4] = {{33, 33, 63, 63}, {3, 3, 8, 8}, {128, 128, 56, 56}, {33, 40, 63, 79}, {128, 160, 56, 70}};
  for (const auto& s : sizes) {
    const at::Tensor input = at::randint(0, 256, {2, s[0], s[1], 16}).to(at::kFloat);  // NHWC, whole steps
    const at::Tensor ours = resized_by_int8_decoder(input, s[2], s[3]);
    const at::Tensor theirs =
        at::upsample_bilinear2d(input.permute({0, 3, 1, 2}), {s[2], s[3]}, false).permute({0, 2, 3, 1});
    const double largest = (ours - theirs).abs().max().item<double>();
    std::printf("resize %dx%d -> %dx%d: largest difference %.3f u8 steps\n", s[0], s[1], s[2], s[3], largest);
    ck_assert_msg(largest <= 0.51, "%dx%d -> %dx%d differs by %f steps", s[0], s[1], s[2], s[3], largest);
  }
}
END_TEST

START_TEST(map_computer_runs_the_int8_decoder_where_calibrated_and_asked) {
  const core::Networks calibrated = test::random_networks(ModelGeometry{}, 5);
  core::Networks older = calibrated;
  older.decoder_activation_max = at::Tensor();  // a model written before the int8 decoder
  const auto fast = [](const core::Networks& n, FastAutoencoder ae) {
    return std::make_unique<core::MapComputer>(n, Mode::Fast, Device::Cpu, std::nullopt, Convolutions::Winograd, ae);
  };
  const auto with_int8 = fast(calibrated, FastAutoencoder::Int8);
  ck_assert(with_int8->runs_int8_decoder());
  ck_assert(!fast(calibrated, FastAutoencoder::Float)->runs_int8_decoder());
  ck_assert(!fast(older, FastAutoencoder::Int8)->runs_int8_decoder());
  ck_assert(!core::MapComputer(calibrated, Mode::Exact, Device::Cpu).runs_int8_decoder());
  // The global map with the int8 decoder stays close to the float autoencoder's (same int8 PDNs in both).
  at::manual_seed(6);
  const at::Tensor pixels = at::randint(0, 256, {1, 256, 256, 3}, at::kByte);
  const at::Tensor int8_map = with_int8->compute(pixels).ae, float_map = fast(older, FastAutoencoder::Int8)->compute(pixels).ae;
  const double rel = ((int8_map - float_map).norm() / float_map.norm()).item<double>();
  std::printf("global map, int8 decoder vs float autoencoder: relative difference %.4f\n", rel);
  ck_assert_msg(rel < 0.05, "global map differs by %f", rel);
}
END_TEST

START_TEST(int8_decoder_refuses_inconsistent_layers_n) {
  DecoderParts missing_resize;
  missing_resize.resizes.pop_back();
  missing_resize.expect_invalid("one resize entry per layer");
  DecoderParts no_layers;
  no_layers.layers.clear();
  no_layers.resizes.clear();
  no_layers.expect_invalid("needs layers");
  DecoderParts short_range;
  short_range.input_range.pop_back();
  short_range.expect_invalid("63 input ranges for 64 input channels");
  DecoderParts strided;
  strided.layers[1].spec.stride = 2;
  strided.expect_invalid("stride");
  DecoderParts short_weights;
  short_weights.layers[2].weight.pop_back();
  short_weights.expect_invalid("wrong size");
}
END_TEST

START_TEST(int8_decoder_refuses_uncalibrated_ranges_n) {
  DecoderParts zero_input;
  zero_input.input_range[7] = 0.0f;
  zero_input.expect_invalid("input is not calibrated");
  DecoderParts nan_hidden;
  nan_hidden.layers[0].activation_range[3] = std::nanf("");
  nan_hidden.expect_invalid("not calibrated");
  DecoderParts per_layer;
  per_layer.layers[1].activation_range = {1.0f};
  per_layer.expect_invalid("one range per channel");
  // A decoder calibration of the wrong size (one value per hidden layer is accepted, as for the PDNs).
  const core::Autoencoder ae = core::make_autoencoder(ModelGeometry{});
  test::expect_throw<InvalidArgument>([&] { core::int8_decoder(ae, at::ones({100})); }, "activation maxima");
}
END_TEST

START_TEST(unknown_autoencoder_precision_is_refused_n) {
  test::expect_throw<InvalidArgument>([] { parse_fast_autoencoder("fp16"); }, "use int8 or float");
  test::expect_throw<InvalidArgument>([] { parse_fast_autoencoder(""); }, "use int8 or float");
  ck_assert(parse_fast_autoencoder("INT8") == FastAutoencoder::Int8);
  ck_assert_str_eq(fast_autoencoder_name(parse_fast_autoencoder("float")), "float");
}
END_TEST

int main() {
  if (!core::Int8Pdn::available()) {
    std::puts("SKIP: this build has no oneDNN, so no int8 decoder to test");
    return 77;
  }
  return test::run_cases("int8_decoder", {
      {"positive", TESTS(int8_decoder_close_to_fp32, u8_resize_lands_where_pytorch_bilinear_does,
                         map_computer_runs_the_int8_decoder_where_calibrated_and_asked)},
      {"negative", TESTS(int8_decoder_refuses_inconsistent_layers_n, int8_decoder_refuses_uncalibrated_ranges_n,
                         unknown_autoencoder_precision_is_refused_n)},
  }, test::Fork::None);
}
