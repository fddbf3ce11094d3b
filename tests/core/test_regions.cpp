// Defect regions of anomaly maps: connected parts above the threshold, checked against maps drawn by hand.
#include "check_compat.h"

#include <cmath>

#include "efficientad/errors.h"
#include "efficientad/regions.h"
#include "test_helpers.h"

using namespace efficientad;

namespace {

// A width x height map of zeros with the given cells set.
AnomalyMap map_with(int width, int height, std::initializer_list<std::tuple<int, int, float>> cells) {
  AnomalyMap m{width, height, std::vector<float>(size_t(width) * size_t(height), 0.0f)};
  for (const auto& [x, y, v] : cells) m.values[size_t(y) * size_t(width) + size_t(x)] = v;
  return m;
}

}  // namespace

START_TEST(two_regions_largest_first_by_hand) {
  // A 3x2 block (values 0.5 .. 1.0) at (1, 1), a 2x2 block of 0.8 at (6, 4).
  const AnomalyMap m = map_with(10, 8, {{1, 1, 0.5f}, {2, 1, 0.6f}, {3, 1, 0.7f}, {1, 2, 0.8f}, {2, 2, 0.9f},
                                        {3, 2, 1.0f}, {6, 4, 0.8f}, {7, 4, 0.8f}, {6, 5, 0.8f}, {7, 5, 0.8f}});
  const std::vector<DefectRegion> r = find_defect_regions(m, 0.2f);
  ck_assert_int_eq(int(r.size()), 2);
  ck_assert(r[0].x == 1 && r[0].y == 1 && r[0].width == 3 && r[0].height == 2 && r[0].area == 6);
  ck_assert_float_eq(r[0].peak, 1.0f);
  ck_assert_float_eq_tol(r[0].mean, 0.75f, 1e-6f);
  ck_assert(r[1].x == 6 && r[1].y == 4 && r[1].width == 2 && r[1].height == 2 && r[1].area == 4);
  ck_assert_float_eq_tol(r[1].mean, 0.8f, 1e-6f);
}
END_TEST

// Cells touching only at a corner belong to one region (8-connectivity, as the MVTec AD protocol counts them).
START_TEST(diagonal_cells_are_one_region) {
  const AnomalyMap m = map_with(5, 5, {{0, 0, 1}, {1, 1, 1}, {2, 2, 1}, {4, 0, 1}});
  const std::vector<DefectRegion> r = find_defect_regions(m, 0.5f);
  ck_assert_int_eq(int(r.size()), 2);
  ck_assert(r[0].area == 3 && r[0].width == 3 && r[0].height == 3);
  ck_assert(r[1].x == 4 && r[1].area == 1);
}
END_TEST

// Equal areas keep the map's reading order; a map with one hot cell everywhere in turn finds it.
START_TEST(ties_in_reading_order) {
  const AnomalyMap m = map_with(6, 3, {{4, 0, 1}, {1, 2, 1}, {0, 0, 1}});
  const std::vector<DefectRegion> r = find_defect_regions(m, 0.0f);
  ck_assert_int_eq(int(r.size()), 3);
  ck_assert(r[0].x == 0 && r[0].y == 0 && r[1].x == 4 && r[2].y == 2);
}
END_TEST

START_TEST(threshold_is_strict_and_limits_apply_n) {
  const AnomalyMap m = map_with(8, 8, {{0, 0, 0.5f}, {5, 5, 0.9f}, {6, 5, 0.9f}, {2, 6, 0.7f}});
  ck_assert_int_eq(int(find_defect_regions(m, 0.5f).size()), 2);  // 0.5 is not above 0.5
  ck_assert_int_eq(int(find_defect_regions(m, 0.9f).size()), 0);
  ck_assert_int_eq(int(find_defect_regions(m, 0.1f, 2).size()), 1);  // min_area drops the single cells
  const std::vector<DefectRegion> one = find_defect_regions(m, 0.1f, 1, 1);
  ck_assert(one.size() == 1 && one[0].area == 2);  // the largest is kept
  ck_assert_int_eq(int(find_defect_regions(m, 0.1f, 1, 0).size()), 0);
}
END_TEST

START_TEST(bad_inputs_n) {
  const AnomalyMap m = map_with(4, 4, {});
  test::expect_throw<InvalidArgument>([] { find_defect_regions(AnomalyMap{}, 0.1f); }, "map is empty");
  test::expect_throw<InvalidArgument>([] { find_defect_regions(AnomalyMap{2, 2, {1, 2, 3}}, 0.1f); }, "map is empty");
  test::expect_throw<InvalidArgument>([&] { find_defect_regions(m, NAN); }, "finite");
  test::expect_throw<InvalidArgument>([&] { find_defect_regions(m, 0.1f, 0); }, "min_area");
  test::expect_throw<InvalidArgument>([&] { find_defect_regions(m, 0.1f, 1, -1); }, "max_regions");
}
END_TEST

// NaN or infinite cells (a broken map) never make or join a region; the rest is still found.
START_TEST(non_finite_cells_n) {
  const AnomalyMap m = map_with(6, 2, {{0, 0, NAN}, {1, 0, 1.0f}, {3, 0, INFINITY}, {5, 1, 1.0f}});
  const std::vector<DefectRegion> r = find_defect_regions(m, 0.5f);
  ck_assert_int_eq(int(r.size()), 3);  // +inf is above the threshold: a defect, not noise
  for (const auto& region : r) ck_assert(region.area == 1 && !std::isnan(region.mean));
  ck_assert_int_eq(int(find_defect_regions(map_with(3, 1, {{0, 0, NAN}, {1, 0, NAN}}), 0.0f).size()), 0);
}
END_TEST

int main() {
  return test::run_cases("regions", {
      {"positive", TESTS(two_regions_largest_first_by_hand, diagonal_cells_are_one_region, ties_in_reading_order)},
      {"negative", TESTS(threshold_is_strict_and_limits_apply_n, bad_inputs_n, non_finite_cells_n)},
  }, test::Fork::PerTest);
}
