// Images as the engine sees them: 8-bit pixels in the layouts cameras and video pipelines deliver, packed or
// planar, with row strides, so that frames are read where they are without copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace efficientad {

enum class PixelFormat {
  Gray8,
  Rgb8, Bgr8,                      // 3 bytes per pixel
  Rgba8, Bgra8,                    // 4 bytes, alpha last (ignored)
  Rgbx8, Bgrx8, Xrgb8, Xbgr8,      // 4 bytes with one unused byte
  Nv12,                            // Y plane, then interleaved U/V at half resolution
  I420,                            // Y, U and V planes, U and V at half resolution
};

// Bytes per pixel of the first plane (1 for the Y plane of YUV formats).
int bytes_per_pixel(PixelFormat format);
bool is_yuv(PixelFormat format);

// YUV-to-RGB coefficients of planar formats (GStreamer's colorimetry).
enum class YuvMatrix { Bt601, Bt709 };

// A view of pixels owned by someone else. `Byte` is `const uint8_t` (ImageView) or `uint8_t` (MutableImageView,
// for drawing overlays in place). stride is bytes per row of the first plane, 0 meaning tightly packed. Planar
// YUV formats also give their chroma planes: NV12 uses chroma[0] (interleaved U/V), I420 chroma[0] = U and
// chroma[1] = V; a chroma stride of 0 means tightly packed.
template <typename Byte>
struct BasicImageView {
  Byte* data = nullptr;
  int width = 0;
  int height = 0;
  PixelFormat format = PixelFormat::Rgb8;
  size_t stride = 0;
  Byte* chroma[2] = {nullptr, nullptr};
  size_t chroma_stride[2] = {0, 0};
  YuvMatrix yuv_matrix = YuvMatrix::Bt601;
  bool yuv_full_range = false;

  size_t row_bytes() const { return stride ? stride : size_t(width) * bytes_per_pixel(format); }
  size_t chroma_row_bytes(int plane) const;
  bool empty() const;
  // The sub-rectangle [x, x+w) x [y, y+h). Throws InvalidArgument when it leaves the image, or, for YUV formats,
  // when x or y is odd (chroma samples cover 2x2 pixels).
  BasicImageView crop(int x, int y, int w, int h) const;

  // A mutable view converts to a read-only one (the dependent return type keeps clang from warning that the
  // read-only view would convert to itself).
  template <typename B = Byte, typename = std::enable_if_t<!std::is_const_v<B>>>
  operator BasicImageView<const B>() const {
    return {data, width, height, format, stride, {chroma[0], chroma[1]}, {chroma_stride[0], chroma_stride[1]},
            yuv_matrix, yuv_full_range};
  }
};

using ImageView = BasicImageView<const uint8_t>;
using MutableImageView = BasicImageView<uint8_t>;

extern template struct BasicImageView<const uint8_t>;
extern template struct BasicImageView<uint8_t>;

// An image that owns its (packed) pixels; Gray8, Rgb8, Bgr8 and the 4-byte formats.
class Image {
 public:
  Image() = default;
  Image(int width, int height, PixelFormat format);  // throws InvalidArgument for YUV formats or sizes <= 0

  int width() const { return width_; }
  int height() const { return height_; }
  PixelFormat format() const { return format_; }
  uint8_t* data() { return pixels_.data(); }
  const uint8_t* data() const { return pixels_.data(); }
  size_t size_bytes() const { return pixels_.size(); }
  ImageView view() const { return ImageView{pixels_.data(), width_, height_, format_, 0}; }
  MutableImageView mutable_view() { return MutableImageView{pixels_.data(), width_, height_, format_, 0}; }
  bool empty() const { return pixels_.empty(); }

 private:
  int width_ = 0;
  int height_ = 0;
  PixelFormat format_ = PixelFormat::Rgb8;
  std::vector<uint8_t> pixels_;
};

// Any supported format -> packed RGB at width x height (0 x 0 keeps the size): area averaging when shrinking,
// bilinear when enlarging; the same conversion the networks' inputs get. Throws ImageError for an empty view.
Image to_rgb(const ImageView& source, int width = 0, int height = 0);

}  // namespace efficientad
