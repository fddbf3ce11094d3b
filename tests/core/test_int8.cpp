// The int8 teacher/student of the fast mode against the fp32 networks: small relative error for S, S with
// padding and M; batches equal single images; uncalibrated or malformed layers are refused.
#include <ATen/ATen.h>

#include <cstdio>
#include <cstring>

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

Compared compare(Variant variant, bool padding, int width, int height, int count) {
  at::manual_seed(7);
  at::NoGradGuard no_grad;
  const ModelGeometry g{variant, width, height, padding};
  const core::Pdn net = core::make_pdn(variant, 384, padding);
  const at::Tensor pixels = at::randint(0, 256, {count, height, width, 3}, at::kByte);
  const at::Tensor normalised = core::imagenet_normalize(core::to_unit_float(pixels).contiguous());
  const auto int8 = core::compile_int8(net, core::hidden_activation_max(net, normalised), g);
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

}  // namespace

START_TEST(int8_close_to_fp32) {
  const Compared cases[] = {compare(Variant::Small, false, 256, 256, 2), compare(Variant::Small, true, 256, 256, 1),
                            compare(Variant::Medium, false, 256, 256, 1), compare(Variant::Small, false, 320, 256, 1)};
  for (const Compared& c : cases) {
    std::printf("int8 vs fp32: relative error %.4f, correlation %.6f\n", c.relative_error, c.correlation);
    ck_assert_msg(c.relative_error < 0.05, "int8 relative error %f", c.relative_error);
    ck_assert_msg(c.correlation > 0.998, "int8 correlation %f", c.correlation);
  }
}
END_TEST

START_TEST(int8_refuses_bad_layers_n) {
  const auto specs = core::pdn_layers(Variant::Small, 384, false);
  std::vector<core::Int8LayerWeights> layers;
  for (const auto& spec : specs) {
    const size_t w = size_t(spec.out_channels * spec.in_channels * spec.kernel * spec.kernel);
    layers.push_back({spec, std::vector<float>(w, 0.01f), std::vector<float>(size_t(spec.out_channels), 0.0f), 1.0f});
  }
  auto uncalibrated = layers;
  uncalibrated[1].activation_max = 0.0f;
  expect_invalid(uncalibrated, "not calibrated");
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
      {"int8", TESTS(int8_close_to_fp32, int8_refuses_bad_layers_n)},
  }, test::Fork::None);
}
