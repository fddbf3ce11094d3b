#include "efficientad/regions.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "efficientad/errors.h"

namespace efficientad {

std::vector<DefectRegion> find_defect_regions(const AnomalyMap& map, float threshold, int64_t min_area,
                                              int max_regions) {
  if (map.width <= 0 || map.height <= 0 || map.values.size() != size_t(map.width) * size_t(map.height)) {
    throw InvalidArgument("defect regions: the anomaly map is empty");
  }
  if (!std::isfinite(threshold)) throw InvalidArgument("defect regions: the threshold must be finite");
  if (min_area < 1 || max_regions < 0) throw InvalidArgument("defect regions: min_area >= 1, max_regions >= 0");
  const cv::Mat values(map.height, map.width, CV_32F, const_cast<float*>(map.values.data()));
  const cv::Mat above = values > threshold;
  cv::Mat labels, stats, centroids;
  const int count = cv::connectedComponentsWithStats(above, labels, stats, centroids, 8, CV_32S);
  std::vector<DefectRegion> regions(size_t(std::max(count - 1, 0)));  // label 0 is the background
  std::vector<double> sums(regions.size(), 0.0);
  for (size_t i = 0; i < regions.size(); ++i) {
    const int* s = stats.ptr<int>(int(i) + 1);
    regions[i] = {s[cv::CC_STAT_LEFT], s[cv::CC_STAT_TOP], s[cv::CC_STAT_WIDTH], s[cv::CC_STAT_HEIGHT],
                  s[cv::CC_STAT_AREA], -INFINITY, 0};
  }
  for (int y = 0; y < map.height; ++y) {
    const int* label = labels.ptr<int>(y);
    const float* value = values.ptr<float>(y);
    for (int x = 0; x < map.width; ++x) {
      if (label[x] == 0) continue;
      DefectRegion& r = regions[size_t(label[x] - 1)];
      r.peak = std::max(r.peak, value[x]);
      sums[size_t(label[x] - 1)] += value[x];
    }
  }
  for (size_t i = 0; i < regions.size(); ++i) regions[i].mean = float(sums[i] / double(regions[i].area));
  regions.erase(std::remove_if(regions.begin(), regions.end(), [&](const DefectRegion& r) { return r.area < min_area; }),
                regions.end());
  std::stable_sort(regions.begin(), regions.end(), [](const DefectRegion& a, const DefectRegion& b) {
    return a.area > b.area;  // labels already run top to bottom, left to right
  });
  if (regions.size() > size_t(max_regions)) regions.resize(size_t(max_regions));
  return regions;
}

}  // namespace efficientad
