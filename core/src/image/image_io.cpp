#include "efficientad/image_io.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/atomic_file.h"
#include "common/file_read.h"
#include "efficientad/limits.h"
#include "image/image_decode.h"
#include "efficientad/errors.h"
#include "image/image_ops.h"

namespace fs = std::filesystem;

namespace efficientad {

bool has_image_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tif" || ext == ".tiff";
}

Image load_image(const std::string& path) {
  return detail::decode_image(detail::read_untrusted_file<ImageError>(path, kMaxImageFileBytes, "image file"), path,
                              kMaxImagePixels);
}

std::vector<uint8_t> encode_png(const ImageView& image) {
  if (image.empty()) throw InvalidArgument("cannot encode an empty image as PNG");
  cv::Mat pixels;
  if (image.format == PixelFormat::Gray8) {
    pixels = cv::Mat(image.height, image.width, CV_8UC1, const_cast<uint8_t*>(image.data), image.row_bytes());
  } else {  // any colour layout: through the packed RGB conversion, then to OpenCV's BGR order
    const Image rgb = detail::to_network_input(image, image.width, image.height);
    cv::cvtColor(cv::Mat(rgb.height(), rgb.width(), CV_8UC3, const_cast<uint8_t*>(rgb.data())), pixels, cv::COLOR_RGB2BGR);
  }
  std::vector<uchar> encoded;
  if (!cv::imencode(".png", pixels, encoded)) throw IoError("PNG encoding failed");
  return encoded;
}

void save_png(const std::string& path, const ImageView& image) {
  if (image.empty()) throw InvalidArgument("cannot save an empty image to " + path);
  const std::vector<uint8_t> encoded = encode_png(image);
  detail::write_file_atomically(path, encoded.data(), encoded.size());
}

void save_text(const std::string& path, const std::string& text) {
  detail::write_file_atomically(path, text.data(), text.size());
}

std::vector<std::string> list_image_files(const std::string& folder) {
  std::error_code ec;
  if (!fs::exists(folder, ec)) throw InvalidArgument("image folder not found: " + folder);
  if (!fs::is_directory(folder, ec)) throw InvalidArgument("not a folder: " + folder);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    if (entry.is_regular_file() && has_image_extension(entry.path().string())) files.push_back(entry.path().string());
  }
  if (ec) throw InvalidArgument("cannot list folder " + folder + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace efficientad
