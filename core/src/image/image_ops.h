// Pixel work shared by training and inference, so that both see identical network inputs.
#pragma once

#include "efficientad/image.h"

namespace efficientad::detail {

// Converts any supported format to packed RGB at width x height. Downscaling uses pixel-area averaging
// (anti-aliased, like PIL's resize in the reference implementation); upscaling uses bilinear interpolation.
// Throws ImageError for an empty view.
Image to_network_input(const ImageView& source, int width, int height);

}  // namespace efficientad::detail
