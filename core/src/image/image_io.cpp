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
#include "image/image_header.h"
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
  const std::vector<uchar> bytes = detail::read_untrusted_file<ImageError>(path, kMaxImageFileBytes, "image file");
  uint64_t width = 0, height = 0;
  if (detail::declared_image_size(bytes, &width, &height) && (width == 0 || height == 0 ||
                                                             width * height > kMaxImagePixels)) {
    throw ImageError(path + ": the image declares " + std::to_string(width) + " x " + std::to_string(height) +
                     " pixels; at most " + std::to_string(kMaxImagePixels) + " pixels are accepted (crop or scale it)");
  }
  if (detail::is_truncated_jpeg(bytes)) {
    throw ImageError(path + ": truncated JPEG (no end-of-image marker); copy or capture it again");
  }
  cv::Mat decoded;
  try {
    decoded = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw ImageError("cannot decode image file " + path + ": " + e.what());
  }
  if (decoded.empty() || decoded.cols <= 0 || decoded.rows <= 0) {
    throw ImageError("cannot decode image file (corrupt, truncated or not an image): " + path);
  }
  if (decoded.depth() != CV_8U) {  // 16-bit PNG/TIFF from machine-vision cameras: scale to 8 bits
    cv::Mat eight;
    double max_value = decoded.depth() == CV_16U ? 65535.0 : 1.0;
    if (decoded.depth() != CV_16U) cv::minMaxLoc(decoded.reshape(1), nullptr, &max_value);
    decoded.convertTo(eight, CV_8U, max_value > 0 ? 255.0 / max_value : 1.0);
    decoded = eight;
  }

  const int channels = decoded.channels();
  if (channels == 1) {
    Image out(decoded.cols, decoded.rows, PixelFormat::Gray8);
    decoded.copyTo(cv::Mat(decoded.rows, decoded.cols, CV_8UC1, out.data()));
    return out;
  }
  Image out(decoded.cols, decoded.rows, PixelFormat::Rgb8);
  cv::Mat dst(decoded.rows, decoded.cols, CV_8UC3, out.data());
  if (channels == 3) {
    cv::cvtColor(decoded, dst, cv::COLOR_BGR2RGB);
  } else if (channels == 4) {
    cv::cvtColor(decoded, dst, cv::COLOR_BGRA2RGB);
  } else {
    throw ImageError("unsupported channel count " + std::to_string(channels) + " in " + path);
  }
  return out;
}

void save_png(const std::string& path, const ImageView& image) {
  if (image.empty()) throw InvalidArgument("cannot save an empty image to " + path);
  cv::Mat pixels;
  if (image.format == PixelFormat::Gray8) {
    pixels = cv::Mat(image.height, image.width, CV_8UC1, const_cast<uint8_t*>(image.data), image.row_bytes());
  } else {  // any colour layout: through the packed RGB conversion, then to OpenCV's BGR order
    const Image rgb = detail::to_network_input(image, image.width, image.height);
    cv::cvtColor(cv::Mat(rgb.height(), rgb.width(), CV_8UC3, const_cast<uint8_t*>(rgb.data())), pixels, cv::COLOR_RGB2BGR);
  }
  std::vector<uchar> encoded;
  if (!cv::imencode(".png", pixels, encoded)) throw IoError("PNG encoding failed for " + path);
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
