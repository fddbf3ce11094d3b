// Images as the engine sees them: 8-bit pixels, packed or with a row stride, in a few common layouts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace efficientad {

enum class PixelFormat { Gray8, Rgb8, Bgr8, Rgba8, Bgra8 };

int channel_count(PixelFormat format);

// A non-owning view of pixels. stride is bytes per row; 0 means tightly packed.
// A view into a larger frame (a region of interest) is a pointer offset plus the frame's stride.
struct ImageView {
  const uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  PixelFormat format = PixelFormat::Rgb8;
  size_t stride = 0;

  size_t row_bytes() const { return stride ? stride : size_t(width) * channel_count(format); }
  bool empty() const { return data == nullptr || width <= 0 || height <= 0; }
  // The sub-rectangle [x, x+w) x [y, y+h); throws InvalidArgument when it leaves the image.
  ImageView crop(int x, int y, int w, int h) const;
};

// An image that owns its (packed) pixels.
class Image {
 public:
  Image() = default;
  Image(int width, int height, PixelFormat format);

  int width() const { return width_; }
  int height() const { return height_; }
  PixelFormat format() const { return format_; }
  uint8_t* data() { return pixels_.data(); }
  const uint8_t* data() const { return pixels_.data(); }
  size_t size_bytes() const { return pixels_.size(); }
  ImageView view() const { return ImageView{pixels_.data(), width_, height_, format_, 0}; }
  bool empty() const { return pixels_.empty(); }

 private:
  int width_ = 0;
  int height_ = 0;
  PixelFormat format_ = PixelFormat::Rgb8;
  std::vector<uint8_t> pixels_;
};

}  // namespace efficientad
