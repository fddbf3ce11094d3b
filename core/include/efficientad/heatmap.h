// Heatmap pictures a person can look at: the anomaly map colour-coded over the image.
#pragma once

#include "efficientad/detector.h"
#include "efficientad/image.h"

namespace efficientad {

struct HeatmapStyle {
  float alpha = 0.6f;      // opacity of the colour map where the map reaches max_value (0 where it is <= 0)
  float max_value = 0.0f;  // map value drawn in the hottest colour; 0 = twice the threshold
  bool outline = true;     // outline regions above the threshold
  bool label = true;       // print score and decision in the corner
};

// Returns an Rgb8 image of the input's size. The map is resized to the image when their sizes differ.
Image render_heatmap(const ImageView& image, const AnomalyMap& map, float score, float threshold,
                     const HeatmapStyle& style = {});

}  // namespace efficientad
