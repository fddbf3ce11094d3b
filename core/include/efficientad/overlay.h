// Drawing anomaly maps over images and video frames: colour-coded where the map is high, regions above the
// threshold outlined, the score printed. Used by the CLI's heatmap PNGs and the anomalyoverlay element.
#pragma once

#include "efficientad/detector.h"
#include "efficientad/image.h"

#include <vector>

namespace efficientad {

enum class Colormap { Jet, Turbo, Inferno, Viridis };

struct OverlayStyle {
  float alpha = 0.6f;       // opacity of the hottest colour (lower values are drawn more transparent)
  Colormap colormap = Colormap::Jet;
  float min_value = 0.1f;   // map values <= this are not drawn; 0.1 is where q_b, the 99.5 % quantile of normal
                            // pixels, maps to
  float max_value = 0.0f;   // value drawn in the hottest colour; 0 = twice the threshold
  bool outline = true;      // outline regions above the threshold
  bool label = true;        // print score and decision in the region's corner
};

struct Rect {
  int x = 0, y = 0, width = 0, height = 0;
};

// Draws `map` (map_width x map_height floats, row-major), which covers `region` of `frame`, onto the frame in
// place, in any pixel format. Pixels whose map value is <= style.min_value keep their values except under the
// outline and the label. The region is clipped to the frame. Throws InvalidArgument for an empty map.
void draw_anomaly_overlay(const MutableImageView& frame, const float* map, int map_width, int map_height,
                          const Rect& region, float score, float threshold, const OverlayStyle& style = {});

// Draws rectangles (defect region boxes, in frame pixels) onto the frame in place, in any pixel format (on the
// luma plane for YUV); boxes are clipped to the frame. thickness 0 picks one from the frame width.
void draw_boxes(const MutableImageView& frame, const std::vector<Rect>& boxes, int thickness = 0);

// An Rgb8 copy of `image` with `map` drawn over all of it.
Image render_heatmap(const ImageView& image, const AnomalyMap& map, float score, float threshold,
                     const OverlayStyle& style = {});

}  // namespace efficientad
