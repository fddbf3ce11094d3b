// Algorithm 2, lines 7-11: raw feature-resolution maps of one image -> the caller's Detection.
#pragma once

#include "efficientad/detection.h"
#include "efficientad/model.h"

namespace efficientad::detail {

// Normalises the local (st) and global (ae) maps with the model's quantiles, combines them, resizes them to
// out_width x out_height and scores the result against `threshold` (on the CPU: the maps are small here).
Detection finish_detection(const float* st, const float* ae, const ModelInfo& info, int out_width, int out_height,
                           bool component_maps, float threshold);

}  // namespace efficientad::detail
