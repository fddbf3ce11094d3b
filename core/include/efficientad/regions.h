// Defect regions: the connected parts of an anomaly map above the threshold, the unit a line operator (and an
// ROI-reading application) deals with instead of a heat map.
#pragma once

#include <cstdint>
#include <vector>

#include "efficientad/detection.h"

namespace efficientad {

struct DefectRegion {
  int x = 0, y = 0, width = 0, height = 0;  // bounding box, in map cells
  int64_t area = 0;                         // cells above the threshold
  float peak = 0;                           // largest map value in the region
  float mean = 0;                           // mean map value over its cells
};

// The 8-connected regions of cells with value > threshold and at least min_area cells, largest first (ties: top
// to bottom, then left to right), at most max_regions of them. Throws InvalidArgument for an empty map, a
// non-finite threshold, min_area < 1 or max_regions < 0.
std::vector<DefectRegion> find_defect_regions(const AnomalyMap& map, float threshold, int64_t min_area = 1,
                                              int max_regions = 64);

}  // namespace efficientad
