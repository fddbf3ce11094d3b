#include "image/image_ops.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "efficientad/errors.h"
#include "image/yuv.h"

namespace efficientad::detail {

namespace {

int interpolation(int from_w, int from_h, int to_w, int to_h) {
  return to_w <= from_w && to_h <= from_h ? cv::INTER_AREA : cv::INTER_LINEAR;
}

cv::Mat resized(const cv::Mat& src, int width, int height) {
  if (src.cols == width && src.rows == height) return src;
  cv::Mat out;
  cv::resize(src, out, cv::Size(width, height), 0, 0, interpolation(src.cols, src.rows, width, height));
  return out;
}

// Planar YUV: resize the luma and chroma planes to the target size first (fewer pixels to convert when
// shrinking camera frames), then convert each pixel with the frame's colorimetry.
Image yuv_to_network_input(const ImageView& s, int width, int height) {
  const int cw = (s.width + 1) / 2, ch = (s.height + 1) / 2;
  const cv::Mat luma = resized(cv::Mat(s.height, s.width, CV_8UC1, const_cast<uint8_t*>(s.data), s.row_bytes()), width, height);
  cv::Mat u, v;
  if (s.format == PixelFormat::Nv12) {
    std::vector<cv::Mat> planes;
    cv::split(resized(cv::Mat(ch, cw, CV_8UC2, const_cast<uint8_t*>(s.chroma[0]), s.chroma_row_bytes(0)), width, height), planes);
    u = planes[0];
    v = planes[1];
  } else {
    u = resized(cv::Mat(ch, cw, CV_8UC1, const_cast<uint8_t*>(s.chroma[0]), s.chroma_row_bytes(0)), width, height);
    v = resized(cv::Mat(ch, cw, CV_8UC1, const_cast<uint8_t*>(s.chroma[1]), s.chroma_row_bytes(1)), width, height);
  }
  const YuvCoefficients k(s.yuv_matrix, s.yuv_full_range);
  Image out(width, height, PixelFormat::Rgb8);
  uint8_t* dst = out.data();
  for (int y = 0; y < height; ++y) {
    const uint8_t *py = luma.ptr<uint8_t>(y), *pu = u.ptr<uint8_t>(y), *pv = v.ptr<uint8_t>(y);
    for (int x = 0; x < width; ++x, dst += 3) {
      const Rgb c = k.to_rgb(py[x], pu[x], pv[x]);
      dst[0] = clamp_u8(c.r), dst[1] = clamp_u8(c.g), dst[2] = clamp_u8(c.b);
    }
  }
  return out;
}

}  // namespace

Image to_network_input(const ImageView& source, int width, int height) {
  if (source.empty()) throw ImageError("empty image (0 pixels or missing planes): nothing to analyse");
  if (is_yuv(source.format)) return yuv_to_network_input(source, width, height);
  const int channels = bytes_per_pixel(source.format);
  const cv::Mat src(source.height, source.width, CV_8UC(channels), const_cast<uint8_t*>(source.data), source.row_bytes());
  const cv::Mat small = resized(src, width, height);  // resize before converting: fewer pixels to convert
  Image out(width, height, PixelFormat::Rgb8);
  cv::Mat dst(height, width, CV_8UC3, out.data());
  switch (source.format) {
    case PixelFormat::Gray8: cv::cvtColor(small, dst, cv::COLOR_GRAY2RGB); break;
    case PixelFormat::Rgb8: small.copyTo(dst); break;
    case PixelFormat::Bgr8: cv::cvtColor(small, dst, cv::COLOR_BGR2RGB); break;
    case PixelFormat::Rgba8:
    case PixelFormat::Rgbx8: cv::cvtColor(small, dst, cv::COLOR_RGBA2RGB); break;
    case PixelFormat::Bgra8:
    case PixelFormat::Bgrx8: cv::cvtColor(small, dst, cv::COLOR_BGRA2RGB); break;
    case PixelFormat::Xrgb8:
    case PixelFormat::Xbgr8: {  // the unused byte comes first
      const int from_to_rgb[] = {1, 0, 2, 1, 3, 2}, from_to_bgr[] = {3, 0, 2, 1, 1, 2};
      cv::mixChannels(&small, 1, &dst, 1, source.format == PixelFormat::Xrgb8 ? from_to_rgb : from_to_bgr, 3);
      break;
    }
    case PixelFormat::Nv12:
    case PixelFormat::I420: break;  // handled above
  }
  return out;
}

}  // namespace efficientad::detail

namespace efficientad {

Image to_rgb(const ImageView& source, int width, int height) {
  if (width <= 0 || height <= 0) {
    width = source.width;
    height = source.height;
  }
  return detail::to_network_input(source, width, height);
}

}  // namespace efficientad
