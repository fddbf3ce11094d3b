// Packed RGB images as the tensors the networks take.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "efficientad/image.h"

namespace efficientad::detail {

// Packed RGB images of width x height -> uint8 tensor [N, H, W, 3] (one copy).
at::Tensor pack_batch(const std::vector<const uint8_t*>& rgb, int width, int height);

// One packed RGB image -> float [1, 3, H, W] in [0, 1] (a channels-last view).
at::Tensor unit_tensor(const Image& rgb);

}  // namespace efficientad::detail
