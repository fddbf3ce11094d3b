// Decoding image file bytes, after checking what the header declares.
#include "image/image_decode.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "efficientad/errors.h"
#include "image/image_header.h"

namespace efficientad {

namespace detail {

Image decode_image(const std::vector<uint8_t>& bytes, const std::string& path, uint64_t max_pixels) {
  uint64_t width = 0, height = 0;
  if (!declared_image_size(bytes, &width, &height)) {  // other formats would reach decoders with no size limit
    throw ImageError("cannot decode image file " + path + ": not a PNG, JPEG, BMP or TIFF image, or its header is "
                     "damaged");
  }
  if (width == 0 || height == 0 || width * height > max_pixels) {
    throw ImageError(path + ": the image declares " + std::to_string(width) + " x " + std::to_string(height) +
                     " pixels; at most " + std::to_string(max_pixels) + " pixels are accepted (crop or scale it)");
  }
  if (is_truncated_jpeg(bytes)) {
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

}  // namespace detail

}  // namespace efficientad
