// The numerical building blocks against hand-computed values and against LibTorch's own implementations:
// quantiles, the hard feature loss, map normalisation and resizing, the autoencoder augmentations.
#include <ATen/ATen.h>
#include "check_compat.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "efficientad/errors.h"
#include "ops/map_postprocess.h"
#include "training/quantile.h"
#include "training/schedule.h"
#include "training/train_step.h"

#include "test_helpers.h"

using namespace efficientad;
using namespace efficientad::detail;

START_TEST(quantile_by_hand) {
  std::vector<float> v{4, 1, 3, 2};
  ck_assert_double_eq_tol(quantile(v, 0.5), 2.5, 1e-12);
  ck_assert_double_eq_tol(quantile(v, 0.0), 1.0, 1e-12);
  ck_assert_double_eq_tol(quantile(v, 1.0), 4.0, 1e-12);
  std::vector<float> ten{10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  ck_assert_double_eq_tol(quantile(ten, 0.9), 9.1, 1e-6);  // position 8.1 between 9 and 10
  std::vector<float> one{7};
  ck_assert_double_eq_tol(quantile(one, 0.995), 7.0, 1e-12);
}
END_TEST

START_TEST(quantile_matches_torch) {
  at::manual_seed(1);
  const at::Tensor x = at::randn({200000}).exp();
  std::vector<float> v(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
  for (double q : {0.9, 0.995, 0.999}) {
    std::vector<float> copy = v;
    ck_assert_double_eq_tol(quantile(copy, q), at::quantile(x, q).item<double>(), 1e-5 * at::quantile(x, q).item<double>());
  }
}
END_TEST

START_TEST(quantile_rejects_bad_input_n) {
  std::vector<float> empty;
  std::vector<float> v{1, 2};
  try {
    quantile(empty, 0.5);
    ck_abort_msg("empty set accepted");
  } catch (const InvalidArgument&) {
  }
  for (double q : {1.5, -0.1, double(NAN)}) {
    try {
      quantile(v, q);
      ck_abort_msg("quantile level %f accepted", q);
    } catch (const InvalidArgument&) {
    }
  }
}
END_TEST

START_TEST(hard_loss_by_hand) {
  // 0..999: the 0.999-quantile is 998.001, so only 999 is at or above it.
  ck_assert_float_eq_tol(hard_feature_loss(at::arange(1000, at::kFloat), 0.999).item<float>(), 999.0f, 1e-4f);
  // Ties: every element equals the quantile and counts.
  ck_assert_float_eq_tol(hard_feature_loss(at::full({50}, 5.0f), 0.999).item<float>(), 5.0f, 1e-6f);
  // [1,1,2,2,3,3] at p = 0.5: quantile 2, mean of {2,2,3,3} = 2.5.
  ck_assert_float_eq_tol(hard_feature_loss(at::tensor({1.f, 1.f, 2.f, 2.f, 3.f, 3.f}), 0.5).item<float>(), 2.5f, 1e-6f);
  // p = 0 is the plain student-teacher loss: the mean of everything.
  const at::Tensor d = at::tensor({1.f, 2.f, 6.f});
  ck_assert_float_eq_tol(hard_feature_loss(d, 0.0).item<float>(), 3.0f, 1e-6f);
}
END_TEST

START_TEST(hard_loss_matches_reference_and_gradient) {
  at::manual_seed(2);
  for (int trial = 0; trial < 3; ++trial) {
    at::Tensor a = at::randn({1, 384, 56, 56}).requires_grad_(true);
    at::Tensor b = a.detach().clone().requires_grad_(true);
    at::Tensor da = a.pow(2), db = b.pow(2);
    if (trial == 2) {  // many exact ties around the quantile
      da = da.round();
      db = db.round();
    }
    const at::Tensor ours = hard_feature_loss(da, 0.999);
    const at::Tensor reference = db.masked_select(db >= at::quantile(db, 0.999)).mean();
    ck_assert_float_eq_tol(ours.item<float>(), reference.item<float>(), 1e-5f * reference.item<float>());
    if (trial < 2) {
      ours.backward();
      reference.backward();
      ck_assert(at::allclose(a.grad(), b.grad(), 1e-5, 1e-8));
    }
  }
}
END_TEST

START_TEST(map_normalisation_by_hand) {
  // 2x2 maps, no border, output at feature size: only the normalisation and the 0.5/0.5 combination act.
  const float st[4] = {0.5f, 0.9f, 0.7f, 1.3f};
  const float ae[4] = {0.01f, 0.03f, 0.02f, 0.0f};
  const MapQuantiles q{0.5f, 0.9f, 0.01f, 0.03f};
  float combined[4], local[4], global[4];
  ops::cpu::postprocess_maps(st, ae, ops::MapGrid{2, 2, 0, 2, 2}, q, combined, local, global);
  const float local_expected[4] = {0.0f, 0.1f, 0.05f, 0.2f};        // 0.1 (x - 0.5) / 0.4
  const float global_expected[4] = {0.0f, 0.1f, 0.05f, -0.05f};     // 0.1 (x - 0.01) / 0.02
  for (int i = 0; i < 4; ++i) {
    ck_assert_float_eq_tol(local[i], local_expected[i], 1e-6f);
    ck_assert_float_eq_tol(global[i], global_expected[i], 1e-6f);
    ck_assert_float_eq_tol(combined[i], 0.5f * (local_expected[i] + global_expected[i]), 1e-6f);
  }
  // With a border of 1 and output at the padded size, the border cells are 0 and the centre is unchanged.
  float padded[16];
  ops::cpu::postprocess_maps(st, ae, ops::MapGrid{2, 2, 1, 4, 4}, q, padded, nullptr, nullptr);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      const bool inside = x >= 1 && x <= 2 && y >= 1 && y <= 2;
      const float expected = inside ? 0.5f * (local_expected[(y - 1) * 2 + x - 1] + global_expected[(y - 1) * 2 + x - 1]) : 0;
      ck_assert_float_eq_tol(padded[y * 4 + x], expected, 1e-6f);
    }
  }
}
END_TEST

START_TEST(map_resize_matches_torch_interpolate) {
  at::manual_seed(3);
  const at::Tensor st = at::rand({56, 56}), ae = at::rand({56, 56}) * 0.02;
  const MapQuantiles q{0.2f, 0.9f, 0.001f, 0.015f};
  const at::Tensor normalised = 0.5 * (0.1 * (st - q.st_a) / (q.st_b - q.st_a)) + 0.5 * (0.1 * (ae - q.ae_a) / (q.ae_b - q.ae_a));
  const at::Tensor padded = at::constant_pad_nd(normalised.view({1, 1, 56, 56}), {4, 4, 4, 4}, 0.0);
  for (auto [w, h] : {std::pair{256, 256}, std::pair{333, 200}, std::pair{31, 7}, std::pair{1, 1}, std::pair{4000, 64}}) {
    const at::Tensor expected = at::upsample_bilinear2d(padded, {h, w}, false).view({h, w}).contiguous();
    std::vector<float> out(size_t(w) * h);
    ops::cpu::postprocess_maps(st.data_ptr<float>(), ae.data_ptr<float>(), ops::MapGrid{56, 56, 4, w, h}, q, out.data(),
                              nullptr, nullptr);
    const at::Tensor ours = at::from_blob(out.data(), {h, w});
    ck_assert_msg(at::allclose(ours, expected, 1e-5, 1e-6), "resize to %dx%d differs from torch", w, h);
  }
}
END_TEST

START_TEST(map_grid_rejects_bad_sizes_n) {
  const float m[1] = {0};
  float out[1];
  for (ops::MapGrid g : {ops::MapGrid{0, 1, 0, 1, 1}, ops::MapGrid{1, 1, -1, 1, 1}, ops::MapGrid{1, 1, 0, 0, 1},
                         ops::MapGrid{1, 1, 0, 1, -3}}) {
    try {
      ops::cpu::postprocess_maps(m, m, g, MapQuantiles{0, 1, 0, 1}, out, nullptr, nullptr);
      ck_abort_msg("invalid grid accepted");
    } catch (const InvalidArgument&) {
    }
  }
}
END_TEST

START_TEST(augmentations_by_hand) {
  // One red-ish pixel (0.8, 0.2, 0.2) and one grey pixel (0.5, 0.5, 0.5), [1, 3, 1, 2].
  const at::Tensor rgb = at::stack({at::tensor({0.8f, 0.5f}), at::tensor({0.2f, 0.5f}), at::tensor({0.2f, 0.5f})}).view({1, 3, 1, 2});
  // Brightness x1.2 clamps 0.8 -> 0.96, 0.5 -> 0.6.
  const at::Tensor bright = augment(rgb, 1, 1.2f);
  ck_assert_float_eq_tol(bright[0][0][0][0].item<float>(), 0.96f, 1e-6f);
  ck_assert_float_eq_tol(bright[0][0][0][1].item<float>(), 0.6f, 1e-6f);
  ck_assert_float_eq_tol(augment(at::full({1, 3, 1, 1}, 0.9f), 1, 1.2f).max().item<float>(), 1.0f, 1e-6f);  // clamped
  // Grey of pixel 0: 0.2989*0.8 + 0.587*0.2 + 0.114*0.2 = 0.37932; of pixel 1: 0.4995.
  const float grey0 = 0.2989f * 0.8f + 0.587f * 0.2f + 0.114f * 0.2f, grey1 = 0.5f * (0.2989f + 0.587f + 0.114f);
  // Contrast x0.8 blends with the image's mean grey.
  const float mean = 0.5f * (grey0 + grey1);
  ck_assert_float_eq_tol(augment(rgb, 2, 0.8f)[0][0][0][0].item<float>(), 0.8f * 0.8f + 0.2f * mean, 1e-6f);
  // Saturation x0.8 blends each pixel with its own grey; a grey pixel is unchanged.
  const at::Tensor sat = augment(rgb, 3, 0.8f);
  ck_assert_float_eq_tol(sat[0][0][0][0].item<float>(), 0.8f * 0.8f + 0.2f * grey0, 1e-6f);
  ck_assert_float_eq_tol(sat[0][1][0][1].item<float>(), 0.8f * 0.5f + 0.2f * grey1, 1e-6f);
}
END_TEST

START_TEST(schedules_by_hand) {
  // Paper: 1e-4 for steps 0..94 of 100, 1e-5 from step 95.
  ck_assert_double_eq_tol(learning_rate_at(Schedule::Paper, 1e-4, 0, 100), 1e-4, 1e-15);
  ck_assert_double_eq_tol(learning_rate_at(Schedule::Paper, 1e-4, 94, 100), 1e-4, 1e-15);
  ck_assert_double_eq_tol(learning_rate_at(Schedule::Paper, 1e-4, 95, 100), 1e-5, 1e-15);
  ck_assert_double_eq_tol(learning_rate_at(Schedule::Paper, 1e-4, 999, 1000), 1e-5, 1e-15);
  // Cosine over 1000 steps: warm-up 50 steps (step 0 = peak / 50), peak at step 49, half the peak midway
  // through the decay (step 50 + 475), near 0 at the last step.
  const double peak = 5e-4;
  ck_assert_double_eq_tol(learning_rate_at(Schedule::Cosine, peak, 0, 1000), peak / 50, 1e-12);
  ck_assert_double_eq_tol(learning_rate_at(Schedule::Cosine, peak, 49, 1000), peak, 1e-12);
  ck_assert_double_eq_tol(learning_rate_at(Schedule::Cosine, peak, 525, 1000), peak / 2, 1e-12);
  ck_assert(learning_rate_at(Schedule::Cosine, peak, 999, 1000) < 1e-3 * peak);
  double previous = peak;
  for (int64_t step = 50; step < 1000; ++step) {  // never rises after the warm-up
    const double rate = learning_rate_at(Schedule::Cosine, peak, step, 1000);
    ck_assert(rate <= previous && rate >= 0);
    previous = rate;
  }
  // A one-step run still trains (no zero rate from a warm-up shorter than a step).
  ck_assert(learning_rate_at(Schedule::Cosine, peak, 0, 1) > 0);
  ck_assert(describe_schedule(Schedule::Cosine, peak).find("peak 0.0005") != std::string::npos);
  ck_assert(describe_schedule(Schedule::Paper, 1e-4).find("paper (Adam, 0.0001") != std::string::npos);
}
END_TEST

START_TEST(schedule_names_n) {
  ck_assert(parse_schedule("Cosine") == Schedule::Cosine && parse_schedule("paper") == Schedule::Paper);
  test::expect_throw<InvalidArgument>([] { parse_schedule("onecycle"); }, "use paper or cosine");
  test::expect_throw<InvalidArgument>([] { parse_schedule(""); }, "use paper or cosine");
}
END_TEST

int main() {
  return test::run_cases("maths", {
      {"maths", TESTS(quantile_by_hand, quantile_matches_torch, quantile_rejects_bad_input_n, hard_loss_by_hand,
                   hard_loss_matches_reference_and_gradient, map_normalisation_by_hand,
                   map_resize_matches_torch_interpolate, map_grid_rejects_bad_sizes_n, augmentations_by_hand, schedules_by_hand,
                   schedule_names_n), 120},
  }, test::Fork::None);
}
