// Reading and writing image files (PNG, JPEG, BMP, TIFF through OpenCV) and listing image folders.
#pragma once

#include <string>
#include <vector>

#include "efficientad/image.h"

namespace efficientad {

// Loads an image file as Gray8 (single-channel files) or Rgb8 (everything else; alpha is dropped).
// Throws ImageError naming the file when it is missing, empty, unreadable or zero-sized.
Image load_image(const std::string& path);

// Writes a PNG atomically (temporary file + rename). Throws IoError.
void save_png(const std::string& path, const ImageView& image);
// The PNG file bytes of an image in any format (for records and messages). Throws InvalidArgument, IoError.
std::vector<uint8_t> encode_png(const ImageView& image);

// Writes a text file (tables, reports) atomically, so that readers never see half of it. Throws IoError.
void save_text(const std::string& path, const std::string& text);

// Image files (by extension, case-insensitive) directly inside `folder`, sorted by name.
// Throws InvalidArgument when the folder does not exist or is not a folder.
std::vector<std::string> list_image_files(const std::string& folder);

// True for file names with an image extension this library reads.
bool has_image_extension(const std::string& path);

}  // namespace efficientad
