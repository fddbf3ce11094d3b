// What an encoded image claims about itself, read from its header before it is decoded: the size that decoding
// would allocate (a decompression bomb declares a huge one in a tiny file) and whether a JPEG is whole.
#pragma once

#include <cstdint>
#include <vector>

namespace efficientad::detail {

// Width and height declared by a PNG, JPEG, BMP or TIFF header; false for other or unreadable headers.
bool declared_image_size(const std::vector<uint8_t>& file, uint64_t* width, uint64_t* height);

// Whether the bytes are a JPEG (SOI marker) without its end-of-image marker: cut off in transfer or on disk.
bool is_truncated_jpeg(const std::vector<uint8_t>& file);

}  // namespace efficientad::detail
