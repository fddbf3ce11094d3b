// The metrics anomaly detection papers compare on: image AUROC and F1-max, pixel AUROC, and the MVTec AD
// per-region overlap (AU-PRO) integrated up to a false positive rate, also split by defect size (cumulative
// quartiles of region sizes, "Transformer students", Sec. IV-A). Undefined values (one class missing) are NaN.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "efficientad/detector.h"

namespace efficientad {

// Area under the ROC curve of `scores` for `anomalous` labels; tied scores count half (as scikit-learn).
double auroc(const std::vector<float>& scores, const std::vector<bool>& anomalous);

// Highest F1 score over all decision thresholds "score >= t".
double f1_max(const std::vector<float>& scores, const std::vector<bool>& anomalous);

struct SegmentationMetrics {
  double pixel_auroc = 0;
  double aupro30 = 0;  // AU-PRO up to FPR 0.3, divided by 0.3
  double aupro5 = 0;   // AU-PRO up to FPR 0.05, divided by 0.05
  // AU-PRO over the regions no larger than the k-th size quartile (index 3 = all regions = aupro30 / aupro5).
  std::array<double, 4> aupro30_quartile{};
  std::array<double, 4> aupro5_quartile{};
  // Robustness to defect size, rho = w (1 - s), w = mean quartile AU-PRO, s = |Q4 - Q1| / max(Q1, Q4).
  double robustness30 = 0;
  double robustness5 = 0;
  int64_t regions = 0;        // connected defect regions (8-connectivity)
  int64_t normal_pixels = 0;
  int64_t defect_pixels = 0;
};

// Collects anomaly maps with their ground-truth masks, image by image, at the masks' resolution; then computes
// the segmentation metrics over any subset of groups (e.g. group 0 = good images, 1.. = defect types).
class PixelEvaluator {
 public:
  // `mask` holds map.width x map.height bytes, >= 128 meaning defect (masks are 0/255 images).
  // Throws InvalidArgument when the map is empty or the sizes disagree.
  void add(const AnomalyMap& map, const std::vector<uint8_t>& mask, int group);

  // Region size quartiles are those of all regions added (per dataset, as the paper computes them per object),
  // so that rows of one dataset share them.
  SegmentationMetrics compute(const std::vector<int>& groups);

  std::array<double, 4> size_quartiles() const;  // in pixels

 private:
  struct Pixel {
    float score;
    int32_t label;  // >= 0: index of its defect region; < 0: a normal pixel of group -label - 1
  };
  struct Region {
    int group;
    int64_t size;
  };
  std::vector<Pixel> pixels_;
  std::vector<Region> regions_;
  std::vector<int64_t> normal_pixels_;  // per group, counted as images are added
  bool sorted_ = false;
};

}  // namespace efficientad
