// Image file bytes to an Image, with the checks that make untrusted files safe to decode.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "efficientad/image.h"

namespace efficientad::detail {

// Decodes an image file's bytes (load_image with the file already read; `path` names it in errors): PNG, JPEG,
// BMP or TIFF, at most max_pixels as declared by the header, JPEGs whole; 16-bit images scaled to 8 bits.
// Throws ImageError for anything else and for undecodable data.
Image decode_image(const std::vector<uint8_t>& bytes, const std::string& path, uint64_t max_pixels);

}  // namespace efficientad::detail
