#include "image_ops.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "efficientad/errors.h"

namespace efficientad::detail {

namespace {

cv::Mat wrap(const ImageView& view) {
  const int type = CV_8UC(channel_count(view.format));
  return cv::Mat(view.height, view.width, type, const_cast<uint8_t*>(view.data), view.row_bytes());
}

int to_rgb_code(PixelFormat format) {
  switch (format) {
    case PixelFormat::Gray8: return cv::COLOR_GRAY2RGB;
    case PixelFormat::Bgr8: return cv::COLOR_BGR2RGB;
    case PixelFormat::Rgba8: return cv::COLOR_RGBA2RGB;
    case PixelFormat::Bgra8: return cv::COLOR_BGRA2RGB;
    case PixelFormat::Rgb8: break;
  }
  return -1;
}

}  // namespace

Image to_network_input(const ImageView& source, int width, int height) {
  if (source.empty()) throw ImageError("empty image (0 pixels): nothing to analyse");
  cv::Mat src = wrap(source);
  // Resize before converting colour: fewer pixels to convert when shrinking camera frames.
  cv::Mat resized;
  if (src.cols == width && src.rows == height) {
    resized = src;
  } else {
    const bool shrinking = width <= src.cols && height <= src.rows;
    cv::resize(src, resized, cv::Size(width, height), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  Image out(width, height, PixelFormat::Rgb8);
  cv::Mat dst(height, width, CV_8UC3, out.data());
  const int code = to_rgb_code(source.format);
  if (code < 0) {
    resized.copyTo(dst);
  } else {
    cv::cvtColor(resized, dst, code);
  }
  return out;
}

}  // namespace efficientad::detail
