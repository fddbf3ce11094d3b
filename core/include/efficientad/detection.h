// What inference returns for one image: the anomaly maps, the image score and the decision.
#pragma once

#include <cstddef>
#include <vector>

namespace efficientad {

// A dense float map, row-major.
struct AnomalyMap {
  int width = 0;
  int height = 0;
  std::vector<float> values;

  float at(int x, int y) const { return values[size_t(y) * width + x]; }
  float max() const;
};

struct MapOptions {
  // Resolution of the returned maps: 0 x 0 (default) means each image's own size; otherwise this size.
  int map_width = 0;
  int map_height = 0;
  // Also return the normalised local (student-teacher) and global (student-autoencoder) maps.
  bool component_maps = false;
};

struct Detection {
  float score = 0;         // max of the combined map (Algorithm 2, line 11)
  bool anomalous = false;  // score > the detector's threshold
  AnomalyMap map;          // combined normalised map, 0.5 * local + 0.5 * global
  AnomalyMap local_map;    // filled when MapOptions::component_maps
  AnomalyMap global_map;
};

}  // namespace efficientad
