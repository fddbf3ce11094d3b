// Network architectures (paper Tables 6-8): output shapes for S and M, with and without padding, at several input
// sizes; parameter counts; the narrowed student head; dropout; initialisation.
#include <ATen/ATen.h>
#include "check_compat.h"

#include <cmath>

#include "model/architecture.h"
#include "efficientad/errors.h"
#include "model/networks.h"

#include "test_helpers.h"

using namespace efficientad;
using namespace efficientad::detail;

namespace {

int64_t count_parameters(const std::vector<at::Tensor>& params) {
  int64_t n = 0;
  for (const auto& p : params) n += p.numel();
  return n;
}

void check_shapes(Variant variant, bool padding, int width, int height, int expect_w, int expect_h) {
  at::manual_seed(0);
  at::NoGradGuard no_grad;
  const ModelGeometry g{variant, width, height, padding};
  ck_assert_int_eq(g.feature_width(), expect_w);
  ck_assert_int_eq(g.feature_height(), expect_h);
  const at::Tensor x = at::rand({1, 3, height, width});
  const Pdn teacher = make_pdn(variant, kTeacherChannels, padding);
  const Pdn student = make_pdn(variant, 2 * kTeacherChannels, padding);
  const Autoencoder ae = make_autoencoder(g);
  const std::vector<int64_t> t{1, kTeacherChannels, expect_h, expect_w}, s{1, 2 * kTeacherChannels, expect_h, expect_w};
  ck_assert(teacher.forward(x).sizes().vec() == t);
  ck_assert(student.forward(x).sizes().vec() == s);
  ck_assert(ae.forward(x, false).sizes().vec() == t);
}

}  // namespace

START_TEST(small_shapes) {
  check_shapes(Variant::Small, false, 256, 256, 56, 56);  // the paper's timing variant, as in the brief
  check_shapes(Variant::Small, true, 256, 256, 64, 64);   // Table 6 as printed: 384 x 64 x 64
  check_shapes(Variant::Small, false, 320, 256, 72, 56);  // non-square input
  check_shapes(Variant::Small, false, 512, 384, 120, 88);
}
END_TEST

START_TEST(medium_shapes) {
  check_shapes(Variant::Medium, false, 256, 256, 56, 56);
  check_shapes(Variant::Medium, true, 256, 256, 64, 64);  // Table 7
  check_shapes(Variant::Medium, false, 384, 256, 88, 56);
}
END_TEST

START_TEST(decoder_sizes_follow_table_8) {
  const std::vector<int> table8{3, 8, 15, 32, 63, 127, 64};
  ck_assert(decoder_upsample_sides(256, 64) == table8);
  const std::vector<int> unpadded{3, 8, 15, 32, 63, 127, 56};
  ck_assert(decoder_upsample_sides(256, 56) == unpadded);
}
END_TEST

START_TEST(parameter_counts_by_hand) {
  // S teacher: 3*128*16+128 + 128*256*16+256 + 256*256*9+256 + 256*384*16+384
  ck_assert_int_eq(count_parameters(parameters(make_pdn(Variant::Small, 384, false))), 2694144);
  // M teacher: 3*256*16+256 + 256*512*16+512 + 512*512+512 + 512*512*9+512 + 512*384*16+384 + 384*384+384
  ck_assert_int_eq(count_parameters(parameters(make_pdn(Variant::Medium, 384, false))), 8026624);
  // Autoencoder: six encoder and eight decoder convolutions of Table 8.
  const int64_t encoder = (3 * 32 * 16 + 32) + (32 * 32 * 16 + 32) + (32 * 64 * 16 + 64) + 2 * (64 * 64 * 16 + 64) +
                          (64 * 64 * 64 + 64);
  const int64_t decoder = 6 * (64 * 64 * 16 + 64) + (64 * 64 * 9 + 64) + (64 * 384 * 9 + 384);
  ck_assert_int_eq(count_parameters(parameters(make_autoencoder(ModelGeometry{}))), encoder + decoder);
}
END_TEST

START_TEST(macs_by_hand) {
  // From Tables 6-8 layer by layer (output plane x out x in x kernel^2), computed separately; S 256x256 is the
  // 37.95 GMAC the speed issue quotes.
  const NetworkMacs s = network_macs(ModelGeometry{});
  ck_assert_int_eq(s.teacher, 15310903296);
  ck_assert_int_eq(s.student, 20243404800);
  ck_assert_int_eq(s.autoencoder, 2392981504);
  ck_assert_int_eq(s.total(), 37947289600);
  const NetworkMacs m = network_macs(ModelGeometry{Variant::Medium, 256, 256, false});
  ck_assert_int_eq(m.teacher, 52029927424);
  ck_assert_int_eq(m.student, 63282196480);
  const NetworkMacs wide = network_macs(ModelGeometry{Variant::Small, 400, 256, false});
  ck_assert_int_eq(wide.total(), 61109219328);
  ck_assert_int_eq(wide.autoencoder, 3802791936);
}
END_TEST

START_TEST(narrowed_head_equals_sliced_output) {
  at::manual_seed(3);
  at::NoGradGuard no_grad;
  for (Variant v : {Variant::Small, Variant::Medium}) {
    const Pdn student = make_pdn(v, 768, false);
    const at::Tensor x = at::rand({2, 3, 256, 256});
    const at::Tensor full = student.forward(x);
    ck_assert(at::allclose(student.forward_channels(x, 0, 384), full.narrow(1, 0, 384), 1e-5, 1e-6));
    ck_assert(at::allclose(student.forward_channels(x, 384, 384), full.narrow(1, 384, 384), 1e-5, 1e-6));
  }
}
END_TEST

START_TEST(dropout_only_in_training) {
  at::manual_seed(4);
  at::NoGradGuard no_grad;
  const Autoencoder ae = make_autoencoder(ModelGeometry{});
  const at::Tensor x = at::rand({1, 3, 256, 256});
  ck_assert(at::equal(ae.forward(x, false), ae.forward(x, false)));
  ck_assert(!at::allclose(ae.forward(x, true), ae.forward(x, true)));
  // Same seed, different memory layout: the same units are dropped.
  at::manual_seed(9);
  const at::Tensor a = ae.forward(x, true);
  at::manual_seed(9);
  const at::Tensor b = ae.forward(x.contiguous(at::MemoryFormat::ChannelsLast), true);
  ck_assert(at::allclose(a, b, 1e-4, 1e-5));
}
END_TEST

START_TEST(default_initialisation_bounds) {
  at::manual_seed(5);
  for (const auto& conv : make_pdn(Variant::Small, 384, false).layers) {
    const double bound = 1.0 / std::sqrt(double(conv.spec.in_channels * conv.spec.kernel * conv.spec.kernel));
    ck_assert(conv.weight.abs().max().item<double>() <= bound);
    ck_assert(conv.weight.abs().max().item<double>() > 0.9 * bound);  // uniform over the whole range
    ck_assert(conv.bias.abs().max().item<double>() <= bound);
  }
}
END_TEST

START_TEST(input_side_limits_n) {
  for (int side : {0, 128, 255, 2049, 100000}) {
    try {
      validate_geometry(ModelGeometry{Variant::Small, side, 256, false});
      ck_abort_msg("input side %d accepted", side);
    } catch (const InvalidArgument&) {
    }
    try {
      validate_geometry(ModelGeometry{Variant::Small, 256, side, false});
      ck_abort_msg("input side %d accepted", side);
    } catch (const InvalidArgument&) {
    }
  }
}
END_TEST

int main() {
  return test::run_cases("networks", {
      {"networks", TESTS(small_shapes, medium_shapes, decoder_sizes_follow_table_8, parameter_counts_by_hand, macs_by_hand,
                   narrowed_head_equals_sliced_output, dropout_only_in_training, default_initialisation_bounds,
                   input_side_limits_n), 300},
  }, test::Fork::None);
}
