// Fast mode on cores shared with other work: a PDN's output strips, each computed from its own band of input
// rows, fill exactly the map the whole network computes (S and M, square and not, 2 and 3 strips, either first
// layer), and the maps computed side by side equal those computed layer by layer; padded networks, too many strips
// and no strips are refused, and a computer that cannot cut its networks computes as before.
#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "check_compat.h"
#include "common/cpu_threads.h"
#include "efficientad/errors.h"
#include "inference/int8_pdn.h"
#include "inference/map_computer.h"
#include "inference/pdn_strips.h"
#include "model/networks.h"
#include "random_networks.h"
#include "test_helpers.h"

using namespace efficientad;
namespace core = efficientad::detail;

namespace {

std::vector<core::Int8LayerWeights> calibrated_layers(Variant variant, int64_t out_channels, bool padding, int width,
                                                      int height) {
  const core::Pdn net = core::make_pdn(variant, out_channels, padding);
  const at::Tensor sample = core::imagenet_normalize(at::rand({1, 3, height, width}));
  return core::int8_layers(net, core::hidden_activation_max(net, sample));
}

}  // namespace

START_TEST(input_rows_of_output_rows) {
  const auto s = core::pdn_layers(Variant::Small, 384, false);
  // conv 4, pool, conv 4, pool, conv 3, conv 4: output row r reads input rows 4r .. 4r + 28.
  const core::RowRange top = core::pdn_input_rows(s, {0, 28}), bottom = core::pdn_input_rows(s, {28, 56});
  ck_assert_int_eq(top.begin, 0);
  ck_assert_int_eq(top.end, 141);
  ck_assert_int_eq(bottom.begin, 112);
  ck_assert_int_eq(bottom.end, 253);
  const auto parts = core::split_rows(56, 3);
  ck_assert_int_eq(int(parts.size()), 3);
  ck_assert_int_eq(parts[0].size() + parts[1].size() + parts[2].size(), 56);
  ck_assert_int_eq(parts[1].begin, parts[0].end);
  ck_assert_int_eq(parts[2].end, 56);
}
END_TEST

START_TEST(strips_fill_the_whole_map) {
  struct Case {
    Variant variant;
    int width, height, strips;
    core::FirstLayer first;
    core::SecondLayer second;
  };
  const Case cases[] = {
      {Variant::Small, 256, 256, 2, core::FirstLayer::Fp32WithRemainder, core::SecondLayer::Int8WithRemainder},
      {Variant::Small, 200, 320, 3, core::FirstLayer::Int8, core::SecondLayer::Int8},
      {Variant::Medium, 256, 256, 2, core::FirstLayer::Int8, core::SecondLayer::Int8WithRemainder}};
  at::manual_seed(11);
  for (const Case& c : cases) {
    const auto layers = calibrated_layers(c.variant, 384, false, c.width, c.height);
    core::Int8Pdn whole(layers, false, c.width, c.height, c.first, c.second);
    const core::Int8PdnStrips cut(layers, c.width, c.height, c.strips, c.first, c.second);
    ck_assert_int_eq(cut.strips(), c.strips);
    const ModelGeometry g{c.variant, c.width, c.height, false};
    const at::Tensor pixels = at::randint(0, 256, {1, c.height, c.width, 3}, at::kByte);
    const at::Tensor expected = at::empty({1, g.feature_height(), g.feature_width(), 384});
    const at::Tensor got = at::full_like(expected, std::numeric_limits<float>::quiet_NaN());  // rows left out show
    whole.run(pixels.data_ptr<uint8_t>(), 1, expected.data_ptr<float>());
    for (int s = c.strips - 1; s >= 0; --s) cut.run(s, pixels.data_ptr<uint8_t>(), 1, got.data_ptr<float>());
    const double difference = (got - expected).abs().max().item<double>() / expected.abs().max().item<double>();
    std::printf("%s %dx%d, %d strips: largest difference %.2e of the largest value\n", variant_name(c.variant),
                c.width, c.height, c.strips, difference);
    ck_assert_msg(difference < 1e-5, "strips differ by %g", difference);  // NaN fails too
  }
}
END_TEST

START_TEST(side_by_side_maps_equal_layer_by_layer_maps) {
  const core::Networks nets = test::random_networks(ModelGeometry{Variant::Small, 256, 256, false}, 5);
  const core::MapComputer fast(nets, Mode::Fast, Device::Cpu);
  if (!fast.runs_int8()) {
    std::puts("no oneDNN in this build: the strips need the int8 networks");
    ck_assert(!fast.runs_side_by_side());
    return;
  }
  ck_assert(fast.runs_side_by_side());
  const at::Tensor pixels = at::randint(0, 256, {2, 256, 256, 3}, at::kByte);  // a batch: tasks per image
  const core::RawMaps layered = fast.compute(pixels), side_by_side = fast.compute(pixels, 2);
  const double st = (side_by_side.st - layered.st).abs().max().item<double>() / layered.st.abs().max().item<double>();
  const double ae = (side_by_side.ae - layered.ae).abs().max().item<double>() / layered.ae.abs().max().item<double>();
  std::printf("side by side vs layer by layer: local %.2e, global %.2e\n", st, ae);
  ck_assert_msg(st < 1e-5 && ae < 1e-5, "maps differ by %g / %g", st, ae);
}
END_TEST

START_TEST(padded_networks_compute_as_before_n) {
  const core::Networks nets = test::random_networks(ModelGeometry{Variant::Small, 256, 256, true}, 5);
  const core::MapComputer fast(nets, Mode::Fast, Device::Cpu);
  ck_assert(!fast.runs_side_by_side());  // padding: a strip's edge would see zeros the whole map does not
  const at::Tensor pixels = at::randint(0, 256, {1, 256, 256, 3}, at::kByte);
  ck_assert(at::equal(fast.compute(pixels, 2).st, fast.compute(pixels).st));
  const core::MapComputer exact(test::random_networks(ModelGeometry{}, 5), Mode::Exact, Device::Cpu);
  ck_assert(!exact.runs_side_by_side());
}
END_TEST

START_TEST(strips_of_a_padded_network_are_refused_n) {
  const auto padded = calibrated_layers(Variant::Small, 384, true, 64, 64);
  test::expect_throw<InvalidArgument>(
      [&] { core::Int8PdnStrips(padded, 64, 64, 2, core::FirstLayer::Int8, core::SecondLayer::Int8); }, "padding");
  const auto padded_specs = core::pdn_layers(Variant::Small, 384, true);
  test::expect_throw<InvalidArgument>([&] { core::pdn_input_rows(padded_specs, {0, 1}); }, "padding");
}
END_TEST

START_TEST(more_strips_than_rows_or_none_are_refused_n) {
  const auto layers = calibrated_layers(Variant::Small, 384, false, 64, 64);  // 8 output rows
  const auto first = core::FirstLayer::Int8;
  const auto second = core::SecondLayer::Int8;
  for (int strips : {9, 0, -1}) {
    test::expect_throw<InvalidArgument>([&] { core::Int8PdnStrips(layers, 64, 64, strips, first, second); },
                                        "strips of 8 output rows");
  }
  test::expect_throw<InvalidArgument>([&] { core::Int8PdnStrips({}, 64, 64, 2, first, second); }, "no layers");
}
END_TEST

START_TEST(strips_with_a_second_layer_remainder_but_two_layers_are_refused_n) {
  auto layers = calibrated_layers(Variant::Small, 384, false, 64, 64);
  layers.erase(layers.begin() + 1, layers.end() - 1);  // layer 1 and the output layer
  layers.back().spec.in_channels = layers.front().spec.out_channels;
  layers.back().weight.resize(size_t(layers.back().spec.out_channels * layers.back().spec.in_channels *
                                     layers.back().spec.kernel * layers.back().spec.kernel), 0.01f);
  const auto first = core::FirstLayer::Fp32WithRemainder;
  const auto second = core::SecondLayer::Int8WithRemainder;
  test::expect_throw<InvalidArgument>([&] { core::Int8PdnStrips(layers, 64, 64, 2, first, second); },
                                      "needs a third layer");
}
END_TEST

int main() {
  return test::run_cases("pdn_strips", {
      {"positive",
       TESTS(input_rows_of_output_rows, strips_fill_the_whole_map, side_by_side_maps_equal_layer_by_layer_maps), 300},
      {"negative", TESTS(padded_networks_compute_as_before_n, strips_of_a_padded_network_are_refused_n,
                         more_strips_than_rows_or_none_are_refused_n,
                         strips_with_a_second_layer_remainder_but_two_layers_are_refused_n), 300},
  }, test::Fork::None);
}
