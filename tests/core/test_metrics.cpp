// The evaluation metrics against hand-computed cases: ties, a single region, size quartiles, the interpolation at
// the integration limit, all-normal data and empty masks; and the errors for inconsistent input.
#include "check_compat.h"

#include <cmath>
#include <vector>

#include "efficientad/errors.h"
#include "efficientad/metrics.h"

#include "test_helpers.h"

using namespace efficientad;

namespace {

AnomalyMap row_map(const std::vector<float>& values) { return AnomalyMap{int(values.size()), 1, values}; }

}  // namespace

START_TEST(image_auroc_and_f1_by_hand) {
  // scikit-learn's documentation example: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75.
  const std::vector<float> scores{0.1f, 0.4f, 0.35f, 0.8f};
  const std::vector<bool> labels{false, false, true, true};
  ck_assert_double_eq_tol(auroc(scores, labels), 0.75, 1e-12);
  // Thresholds 0.8, 0.4, 0.35, 0.1 give F1 2/3, 1/2, 4/5, 2/3.
  ck_assert_double_eq_tol(f1_max(scores, labels), 0.8, 1e-12);
  ck_assert_double_eq_tol(auroc({3, 2, 1}, {true, false, false}), 1.0, 1e-12);
  ck_assert_double_eq_tol(auroc({1, 2, 3}, {true, false, false}), 0.0, 1e-12);
}
END_TEST

START_TEST(image_metrics_count_ties_half) {
  ck_assert_double_eq_tol(auroc({0.5f, 0.5f}, {false, true}), 0.5, 1e-12);
  // The positive ties one negative and beats the other: (0.5 + 1) / 2.
  ck_assert_double_eq_tol(auroc({1, 1, 0}, {true, false, false}), 0.75, 1e-12);
  // All tied: predicting everything anomalous is the only threshold, F1 = 2 * 1/3 * 1 / (1/3 + 1) = 0.5.
  ck_assert_double_eq_tol(f1_max({2, 2, 2}, {true, false, false}), 0.5, 1e-12);
}
END_TEST

START_TEST(image_metrics_undefined_for_one_class_n) {
  ck_assert(std::isnan(auroc({0.1f, 0.2f}, {false, false})));
  ck_assert(std::isnan(auroc({0.1f, 0.2f}, {true, true})));
  ck_assert(std::isnan(auroc({}, {})));
  ck_assert(std::isnan(f1_max({0.1f, 0.2f}, {false, false})));
}
END_TEST

START_TEST(image_metrics_reject_mismatched_labels_n) {
  test::expect_throw<InvalidArgument>([] { auroc({0.1f, 0.2f}, {true}); }, "one label per score");
  test::expect_throw<InvalidArgument>([] { f1_max({0.1f}, {true, false}); }, "one label per score");
}
END_TEST

START_TEST(single_region_by_hand) {
  // Normal pixels 0.1..0.4 (good image) and 0.05; one region of two pixels scoring 0.9 and 0.25.
  PixelEvaluator e;
  e.add(AnomalyMap{2, 2, {0.1f, 0.2f, 0.3f, 0.4f}}, {0, 0, 0, 0}, 0);
  e.add(row_map({0.9f, 0.25f, 0.05f}), {255, 255, 0}, 1);
  const SegmentationMetrics m = e.compute({0, 1});
  ck_assert_int_eq(m.regions, 1);
  ck_assert_int_eq(m.normal_pixels, 5);
  ck_assert_int_eq(m.defect_pixels, 2);
  // Mann-Whitney: 0.9 beats 5 normal pixels, 0.25 beats 3 -> 8 / 10.
  ck_assert_double_eq_tol(m.pixel_auroc, 0.8, 1e-12);
  // PRO is 0.5 from FPR 0 to 0.4, then 1: the area up to 0.3 is 0.15, normalised 0.5; likewise up to 0.05.
  ck_assert_double_eq_tol(m.aupro30, 0.5, 1e-12);
  ck_assert_double_eq_tol(m.aupro5, 0.5, 1e-12);
}
END_TEST

START_TEST(size_quartiles_by_hand) {
  // Regions of 1 pixel (0.9) and 2 pixels (0.8, 0.1); normal pixels 0.85, 0, 0, 0.
  PixelEvaluator e;
  e.add(row_map({0.9f, 0.0f, 0.8f, 0.1f, 0.85f, 0.0f, 0.0f}), {255, 0, 255, 255, 0, 0, 0}, 1);
  const auto q = e.size_quartiles();  // numpy.percentile([1, 2], [25, 50, 75, 100])
  ck_assert_double_eq_tol(q[0], 1.25, 1e-12);
  ck_assert_double_eq_tol(q[1], 1.5, 1e-12);
  ck_assert_double_eq_tol(q[2], 1.75, 1e-12);
  ck_assert_double_eq_tol(q[3], 2.0, 1e-12);
  const SegmentationMetrics m = e.compute({1});
  ck_assert_int_eq(m.regions, 2);
  // All regions: PRO 0.5 on [0, 0.25], then 1: (0.125 + 0.05) / 0.3. Q1-Q3 hold the small region, found at FPR 0.
  ck_assert_double_eq_tol(m.aupro30, 0.175 / 0.3, 1e-12);
  ck_assert_double_eq_tol(m.aupro30_quartile[0], 1.0, 1e-12);
  ck_assert_double_eq_tol(m.aupro30_quartile[2], 1.0, 1e-12);
  ck_assert_double_eq_tol(m.aupro5, 0.5, 1e-12);
  ck_assert_double_eq_tol(m.aupro5_quartile[0], 1.0, 1e-12);
  // rho = w (1 - s): w = (3 + 7/12) / 4, s = (1 - 7/12) / 1.
  ck_assert_double_eq_tol(m.robustness30, (3 + 7.0 / 12) / 4 * (7.0 / 12), 1e-12);
  // 0.9 beats 4 normal pixels, 0.8 and 0.1 beat 3 each: 10 / 12.
  ck_assert_double_eq_tol(m.pixel_auroc, 10.0 / 12, 1e-12);
}
END_TEST

START_TEST(tie_between_normal_and_defect_interpolates_at_the_limit) {
  // A normal and a defect pixel tie at 0.5: the curve goes straight from (0, 0) to (0.5, 1).
  PixelEvaluator e;
  e.add(row_map({0.5f, 0.0f}), {0, 0}, 0);
  e.add(row_map({0.5f}), {255}, 1);
  const SegmentationMetrics m = e.compute({0, 1});
  ck_assert_double_eq_tol(m.aupro30, 0.3 * 0.6 / 2 / 0.3, 1e-12);    // PRO at FPR 0.3 is 0.6
  ck_assert_double_eq_tol(m.aupro5, 0.05 * 0.1 / 2 / 0.05, 1e-12);   // PRO at FPR 0.05 is 0.1
  ck_assert_double_eq_tol(m.pixel_auroc, 0.75, 1e-12);
}
END_TEST

START_TEST(groups_select_subsets) {
  PixelEvaluator e;
  e.add(row_map({0.1f, 0.2f}), {0, 0}, 0);
  e.add(row_map({0.9f, 0.0f}), {255, 0}, 1);  // found perfectly
  e.add(row_map({0.0f, 0.3f}), {255, 0}, 2);  // missed
  ck_assert_double_eq_tol(e.compute({0, 1}).pixel_auroc, 1.0, 1e-12);
  ck_assert_double_eq_tol(e.compute({0, 2}).pixel_auroc, 0.0, 1e-12);
  const SegmentationMetrics all = e.compute({0, 1, 2});
  ck_assert_int_eq(all.regions, 2);
  ck_assert_int_eq(all.normal_pixels, 4);
  // 0.9 beats 4 normals; 0.0 ties the one normal 0.0: (4 + 0.5) / 8.
  ck_assert_double_eq_tol(all.pixel_auroc, 4.5 / 8, 1e-12);
}
END_TEST

START_TEST(all_normal_data_is_undefined_n) {
  PixelEvaluator e;
  e.add(row_map({0.1f, 0.2f}), {0, 0}, 0);
  const SegmentationMetrics m = e.compute({0});
  ck_assert_int_eq(m.regions, 0);
  ck_assert(std::isnan(m.pixel_auroc) && std::isnan(m.aupro30) && std::isnan(m.aupro5));
  ck_assert(std::isnan(m.aupro30_quartile[0]) && std::isnan(m.robustness30));
}
END_TEST

START_TEST(empty_mask_counts_as_normal_pixels_n) {
  PixelEvaluator e;
  e.add(row_map({0.9f, 0.1f}), {0, 0}, 1);  // a defect image whose mask marks nothing
  e.add(row_map({0.5f, 0.2f}), {255, 0}, 1);
  const SegmentationMetrics m = e.compute({1});
  ck_assert_int_eq(m.normal_pixels, 3);
  ck_assert_int_eq(m.regions, 1);
  ck_assert_double_eq_tol(m.pixel_auroc, 2.0 / 3, 1e-12);  // 0.5 beats 0.1 and 0.2, not 0.9
}
END_TEST

START_TEST(pixel_evaluator_rejects_bad_input_n) {
  PixelEvaluator e;
  test::expect_throw<InvalidArgument>([&] { e.add(row_map({0.1f, 0.2f}), {0}, 0); }, "size of the anomaly map");
  test::expect_throw<InvalidArgument>([&] { e.add(AnomalyMap{}, {}, 0); }, "anomaly map is empty");
  test::expect_throw<InvalidArgument>([&] { e.add(AnomalyMap{2, 2, {0.1f}}, {0, 0, 0, 0}, 0); }, "anomaly map is empty");
  test::expect_throw<InvalidArgument>([&] { e.add(row_map({0.1f}), {0}, -1); }, "groups are numbered from 0");
  ck_assert(std::isnan(e.compute({0}).pixel_auroc));  // nothing was added
}
END_TEST

int main() {
  return test::run_cases("metrics", {
      {"metrics", TESTS(image_auroc_and_f1_by_hand, image_metrics_count_ties_half, image_metrics_undefined_for_one_class_n,
                   image_metrics_reject_mismatched_labels_n, single_region_by_hand, size_quartiles_by_hand,
                   tie_between_normal_and_defect_interpolates_at_the_limit, groups_select_subsets,
                   all_normal_data_is_undefined_n, empty_mask_counts_as_normal_pixels_n,
                   pixel_evaluator_rejects_bad_input_n)},
  }, test::Fork::PerTest);
}
