#include "inference/detection.h"

#include <algorithm>

#include "ops/map_postprocess.h"

namespace efficientad {

float AnomalyMap::max() const {
  return values.empty() ? 0.0f : *std::max_element(values.begin(), values.end());
}

namespace detail {

Detection finish_detection(const float* st, const float* ae, const ModelInfo& info, int out_width, int out_height,
                           bool component_maps, float threshold) {
  const ModelGeometry& g = info.geometry;
  ops::MapGrid grid{g.feature_width(), g.feature_height(), g.map_border_cells(), out_width, out_height};
  Detection d;
  auto allocate = [&](AnomalyMap& m) {
    m.width = out_width;
    m.height = out_height;
    m.values.resize(size_t(out_width) * out_height);
    return m.values.data();
  };
  float* combined = allocate(d.map);
  float* local = component_maps ? allocate(d.local_map) : nullptr;
  float* global = component_maps ? allocate(d.global_map) : nullptr;
  ops::cpu::postprocess_maps(st, ae, grid, info.quantiles, combined, local, global);
  d.score = d.map.max();
  d.anomalous = d.score > threshold;
  return d;
}

}  // namespace detail

}  // namespace efficientad
