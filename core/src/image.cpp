#include "efficientad/image.h"

#include <string>

#include "efficientad/errors.h"

namespace efficientad {

int channel_count(PixelFormat format) {
  switch (format) {
    case PixelFormat::Gray8: return 1;
    case PixelFormat::Rgb8:
    case PixelFormat::Bgr8: return 3;
    case PixelFormat::Rgba8:
    case PixelFormat::Bgra8: return 4;
  }
  return 0;
}

ImageView ImageView::crop(int x, int y, int w, int h) const {
  if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > width || y + h > height) {
    throw InvalidArgument("region " + std::to_string(w) + "x" + std::to_string(h) + "+" + std::to_string(x) + "+" +
                          std::to_string(y) + " does not fit in a " + std::to_string(width) + "x" +
                          std::to_string(height) + " image");
  }
  ImageView out = *this;
  out.stride = row_bytes();
  out.data = data + size_t(y) * out.stride + size_t(x) * channel_count(format);
  out.width = w;
  out.height = h;
  return out;
}

Image::Image(int width, int height, PixelFormat format)
    : width_(width), height_(height), format_(format),
      pixels_(size_t(width > 0 ? width : 0) * size_t(height > 0 ? height : 0) * channel_count(format)) {
  if (width <= 0 || height <= 0) {
    throw InvalidArgument("image size must be positive, got " + std::to_string(width) + "x" + std::to_string(height));
  }
}

}  // namespace efficientad
