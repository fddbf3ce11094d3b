#include "efficientad/image.h"

#include <string>

#include "efficientad/errors.h"

namespace efficientad {

int bytes_per_pixel(PixelFormat format) {
  switch (format) {
    case PixelFormat::Gray8:
    case PixelFormat::Nv12:
    case PixelFormat::I420: return 1;
    case PixelFormat::Rgb8:
    case PixelFormat::Bgr8: return 3;
    case PixelFormat::Rgba8:
    case PixelFormat::Bgra8:
    case PixelFormat::Rgbx8:
    case PixelFormat::Bgrx8:
    case PixelFormat::Xrgb8:
    case PixelFormat::Xbgr8: return 4;
  }
  return 0;
}

bool is_yuv(PixelFormat format) { return format == PixelFormat::Nv12 || format == PixelFormat::I420; }

template <typename Byte>
size_t BasicImageView<Byte>::chroma_row_bytes(int plane) const {
  if (chroma_stride[plane]) return chroma_stride[plane];
  const size_t half = size_t(width + 1) / 2;
  return format == PixelFormat::Nv12 ? 2 * half : half;
}

template <typename Byte>
bool BasicImageView<Byte>::empty() const {
  if (data == nullptr || width <= 0 || height <= 0) return true;
  if (format == PixelFormat::Nv12) return chroma[0] == nullptr;
  if (format == PixelFormat::I420) return chroma[0] == nullptr || chroma[1] == nullptr;
  return false;
}

template <typename Byte>
BasicImageView<Byte> BasicImageView<Byte>::crop(int x, int y, int w, int h) const {
  auto where = [&] {
    return std::to_string(w) + "x" + std::to_string(h) + "+" + std::to_string(x) + "+" + std::to_string(y);
  };
  if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > width || y + h > height) {
    throw InvalidArgument("region " + where() + " does not fit in a " + std::to_string(width) + "x" +
                          std::to_string(height) + " image");
  }
  if (is_yuv(format) && (x % 2 || y % 2)) {
    throw InvalidArgument("region " + where() + " of a YUV image must start at even coordinates");
  }
  BasicImageView out = *this;
  out.stride = row_bytes();
  out.data = data + size_t(y) * out.stride + size_t(x) * bytes_per_pixel(format);
  for (int p = 0; p < 2; ++p) {
    if (!chroma[p]) continue;
    out.chroma_stride[p] = chroma_row_bytes(p);
    const size_t column = format == PixelFormat::Nv12 ? size_t(x) : size_t(x / 2);  // NV12: 2 bytes per 2 pixels
    out.chroma[p] = chroma[p] + size_t(y / 2) * out.chroma_stride[p] + column;
  }
  out.width = w;
  out.height = h;
  return out;
}

template struct BasicImageView<const uint8_t>;
template struct BasicImageView<uint8_t>;

Image::Image(int width, int height, PixelFormat format)
    : width_(width), height_(height), format_(format) {
  if (width <= 0 || height <= 0) {
    throw InvalidArgument("image size must be positive, got " + std::to_string(width) + "x" + std::to_string(height));
  }
  if (is_yuv(format)) throw InvalidArgument("Image holds packed formats only; view YUV frames with ImageView");
  pixels_.resize(size_t(width) * size_t(height) * bytes_per_pixel(format));
}

}  // namespace efficientad
