// Every pixel format the engine reads (packed with padding bytes, planar YUV with strides and colorimetry) and
// the overlay drawn onto each of them.
#include <cmath>
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "check_compat.h"
#include "efficientad/errors.h"
#include "efficientad/overlay.h"
#include "image/image_ops.h"
#include "test_helpers.h"

using namespace efficientad;
namespace core = efficientad::detail;

namespace {

// A smooth colour gradient (chroma subsampling barely changes it), even size.
Image gradient(int w, int h) {
  Image img(w, h, PixelFormat::Rgb8);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = img.data() + (size_t(y) * w + x) * 3;
      p[0] = uint8_t(40 + 150 * x / w), p[1] = uint8_t(60 + 120 * y / h), p[2] = uint8_t(200 - 100 * x / w);
    }
  }
  return img;
}

// A frame in one of the packed formats holding the same picture as `rgb`, with `pad` extra bytes per row.
std::vector<uint8_t> repack(const Image& rgb, PixelFormat f, size_t pad) {
  const int bpp = bytes_per_pixel(f);
  const size_t stride = size_t(rgb.width()) * bpp + pad;
  std::vector<uint8_t> out(stride * rgb.height(), 0xAB);
  int r = 0, g = 1, b = 2;
  switch (f) {
    case PixelFormat::Bgr8: case PixelFormat::Bgra8: case PixelFormat::Bgrx8: r = 2, b = 0; break;
    case PixelFormat::Xrgb8: r = 1, g = 2, b = 3; break;
    case PixelFormat::Xbgr8: r = 3, g = 2, b = 1; break;
    default: break;
  }
  for (int y = 0; y < rgb.height(); ++y) {
    for (int x = 0; x < rgb.width(); ++x) {
      const uint8_t* src = rgb.data() + (size_t(y) * rgb.width() + x) * 3;
      uint8_t* dst = out.data() + y * stride + size_t(x) * bpp;
      dst[r] = src[0], dst[g] = src[1], dst[b] = src[2];
    }
  }
  return out;
}

struct Yuv420 {
  std::vector<uint8_t> y, u, v, uv;
  size_t y_stride, c_stride;
};

// I420/NV12 planes of `rgb` (limited-range BT.601 through OpenCV), with row padding so strides matter.
Yuv420 to_yuv(const Image& rgb) {
  cv::Mat yuv;
  cv::cvtColor(cv::Mat(rgb.height(), rgb.width(), CV_8UC3, const_cast<uint8_t*>(rgb.data())), yuv, cv::COLOR_RGB2YUV_I420);
  const int w = rgb.width(), h = rgb.height(), cw = w / 2, ch = h / 2;
  Yuv420 out;
  out.y_stride = size_t(w) + 16;
  out.c_stride = size_t(w) + 8;  // >= 2 * cw for NV12
  out.y.assign(out.y_stride * h, 0);
  out.u.assign(out.c_stride * ch, 0);
  out.v.assign(out.c_stride * ch, 0);
  out.uv.assign(out.c_stride * ch, 0);
  const uint8_t* planes = yuv.ptr<uint8_t>();
  for (int y = 0; y < h; ++y) std::memcpy(&out.y[y * out.y_stride], planes + y * w, size_t(w));
  const uint8_t* u = planes + w * h;
  const uint8_t* v = u + cw * ch;
  for (int y = 0; y < ch; ++y) {
    for (int x = 0; x < cw; ++x) {
      out.u[y * out.c_stride + x] = u[y * cw + x];
      out.v[y * out.c_stride + x] = v[y * cw + x];
      out.uv[y * out.c_stride + 2 * x] = u[y * cw + x];
      out.uv[y * out.c_stride + 2 * x + 1] = v[y * cw + x];
    }
  }
  return out;
}

ImageView yuv_view(const Yuv420& p, int w, int h, PixelFormat f) {
  ImageView v{p.y.data(), w, h, f, p.y_stride};
  v.yuv_full_range = false;  // OpenCV's RGB2YUV_I420 is limited-range BT.601 (white at Y = 235)
  if (f == PixelFormat::Nv12) {
    v.chroma[0] = p.uv.data();
    v.chroma_stride[0] = p.c_stride;
  } else {
    v.chroma[0] = p.u.data(), v.chroma[1] = p.v.data();
    v.chroma_stride[0] = v.chroma_stride[1] = p.c_stride;
  }
  return v;
}

double mean_abs_diff(const Image& a, const Image& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size_bytes(); ++i) sum += std::abs(int(a.data()[i]) - int(b.data()[i]));
  return sum / double(a.size_bytes());
}

}  // namespace

START_TEST(packed_formats_read_alike) {
  const Image rgb = gradient(64, 48);
  const Image expected = core::to_network_input(rgb.view(), 256, 256);
  for (PixelFormat f : {PixelFormat::Bgr8, PixelFormat::Rgba8, PixelFormat::Bgra8, PixelFormat::Rgbx8, PixelFormat::Bgrx8,
                        PixelFormat::Xrgb8, PixelFormat::Xbgr8}) {
    const auto bytes = repack(rgb, f, 12);
    const ImageView v{bytes.data(), 64, 48, f, size_t(64 * bytes_per_pixel(f) + 12)};
    const Image got = core::to_network_input(v, 256, 256);
    ck_assert_msg(std::memcmp(got.data(), expected.data(), got.size_bytes()) == 0, "format %d differs", int(f));
  }
}
END_TEST

START_TEST(yuv_formats_read_like_rgb) {
  const Image rgb = gradient(128, 96);
  const Image expected = core::to_network_input(rgb.view(), 256, 256);
  const Yuv420 planes = to_yuv(rgb);
  double diff = 0;
  for (PixelFormat f : {PixelFormat::Nv12, PixelFormat::I420}) {
    const Image got = core::to_network_input(yuv_view(planes, 128, 96, f), 256, 256);
    diff = mean_abs_diff(got, expected);
    ck_assert_msg(diff < 2.5, "format %d: mean difference %.2f levels", int(f), diff);
  }
  // Read as full-range BT.709 the same planes give other colours: colorimetry is honoured.
  ImageView other = yuv_view(planes, 128, 96, PixelFormat::Nv12);
  other.yuv_full_range = true;
  other.yuv_matrix = YuvMatrix::Bt709;
  const double other_diff = mean_abs_diff(core::to_network_input(other, 256, 256), expected);
  ck_assert_msg(other_diff > 3 * diff, "other colorimetry differs by %.2f levels, the right one by %.2f", other_diff, diff);
}
END_TEST

START_TEST(yuv_crop_and_odd_sizes) {
  const Image rgb = gradient(128, 96);
  const Yuv420 planes = to_yuv(rgb);
  const ImageView full = yuv_view(planes, 128, 96, PixelFormat::I420);
  const ImageView part = full.crop(32, 16, 64, 40);
  ck_assert_ptr_eq(part.chroma[0], planes.u.data() + 8 * planes.c_stride + 16);
  const Image a = core::to_network_input(part, 64, 40);
  const ImageView rgb_part = rgb.view().crop(32, 16, 64, 40);
  ck_assert(mean_abs_diff(a, core::to_network_input(rgb_part, 64, 40)) < 2.5);
  // An odd-sized NV12 frame (chroma rounded up) converts without reading out of bounds.
  std::vector<uint8_t> y(7 * 5, 128), uv(8 * 3, 128);
  const ImageView odd{y.data(), 7, 5, PixelFormat::Nv12, 7, {uv.data(), nullptr}, {8, 0}};
  ck_assert_int_eq(core::to_network_input(odd, 256, 256).width(), 256);
}
END_TEST

START_TEST(overlay_changes_only_hot_pixels_in_every_format) {
  // Map: zero everywhere except a hot 8x8 block in the middle of a 32x32 map covering the frame.
  std::vector<float> map(32 * 32, 0.0f);
  for (int y = 12; y < 20; ++y) {
    for (int x = 12; x < 20; ++x) map[size_t(y) * 32 + x] = 1.0f;
  }
  OverlayStyle style;
  style.outline = false;
  style.label = false;
  const Image rgb = gradient(128, 128);
  for (PixelFormat f : {PixelFormat::Rgb8, PixelFormat::Bgr8, PixelFormat::Rgba8, PixelFormat::Xbgr8, PixelFormat::Gray8}) {
    std::vector<uint8_t> frame = f == PixelFormat::Gray8 ? std::vector<uint8_t>(128 * 128, 90) : repack(rgb, f, 0);
    const std::vector<uint8_t> before = frame;
    draw_anomaly_overlay(MutableImageView{frame.data(), 128, 128, f, 0}, map.data(), 32, 32, Rect{0, 0, 128, 128}, 1.0f,
                         0.4f, style);
    const size_t bpp = size_t(bytes_per_pixel(f));
    auto changed = [&](int x, int y) { return std::memcmp(&frame[(size_t(y) * 128 + x) * bpp], &before[(size_t(y) * 128 + x) * bpp], bpp) != 0; };
    ck_assert_msg(changed(64, 64), "format %d: hot pixel unchanged", int(f));
    for (int y = 0; y < 128; y += 3) {
      for (int x = 0; x < 128; x += 3) {
        if (std::abs(x - 64) > 24 || std::abs(y - 64) > 24) ck_assert_msg(!changed(x, y), "format %d: cold pixel %d,%d changed", int(f), x, y);
      }
    }
  }
  for (PixelFormat f : {PixelFormat::Nv12, PixelFormat::I420}) {
    Yuv420 planes = to_yuv(rgb);
    const Yuv420 before = planes;
    ImageView v = yuv_view(planes, 128, 128, f);
    MutableImageView m{const_cast<uint8_t*>(v.data), 128, 128, f, v.stride, {const_cast<uint8_t*>(v.chroma[0]), const_cast<uint8_t*>(v.chroma[1])},
                       {v.chroma_stride[0], v.chroma_stride[1]}, v.yuv_matrix, v.yuv_full_range};
    draw_anomaly_overlay(m, map.data(), 32, 32, Rect{0, 0, 128, 128}, 1.0f, 0.4f, style);
    ck_assert(planes.y[64 * planes.y_stride + 64] != before.y[64 * planes.y_stride + 64]);
    ck_assert(planes.y[4 * planes.y_stride + 4] == before.y[4 * planes.y_stride + 4]);
    const bool chroma_changed = f == PixelFormat::Nv12 ? planes.uv != before.uv : planes.u != before.u;
    ck_assert(chroma_changed);
  }
}
END_TEST

START_TEST(overlay_region_and_marks) {
  Image frame(200, 100, PixelFormat::Rgb8);
  std::memset(frame.data(), 100, frame.size_bytes());
  const std::vector<float> map(16, 2.0f);  // hot everywhere
  // Region partly outside the frame: clipped, nothing drawn left of x = 150.
  draw_anomaly_overlay(frame.mutable_view(), map.data(), 4, 4, Rect{150, 50, 100, 100}, 2.0f, 0.4f, OverlayStyle{});
  ck_assert_int_eq(frame.data()[(10 * 200 + 10) * 3], 100);
  ck_assert_int_ne(frame.data()[(90 * 200 + 190) * 3 + 2], 100);
  // A region entirely outside leaves the frame alone.
  const Image copy = frame;
  draw_anomaly_overlay(frame.mutable_view(), map.data(), 4, 4, Rect{300, 300, 10, 10}, 2.0f, 0.4f, OverlayStyle{});
  ck_assert_int_eq(std::memcmp(copy.data(), frame.data(), frame.size_bytes()), 0);
}
END_TEST

START_TEST(bad_views_n) {
  test::expect_throw<InvalidArgument>([] { Image(4, 4, PixelFormat::Nv12); }, "packed formats only");
  std::vector<uint8_t> y(64 * 64, 0), uv(64 * 32, 0);
  const ImageView nv12{y.data(), 64, 64, PixelFormat::Nv12, 64, {uv.data(), nullptr}, {64, 0}};
  test::expect_throw<InvalidArgument>([&] { nv12.crop(1, 2, 10, 10); }, "even coordinates");
  const ImageView missing_chroma{y.data(), 64, 64, PixelFormat::I420, 64, {uv.data(), nullptr}, {32, 0}};
  ck_assert(missing_chroma.empty());
  test::expect_throw<ImageError>([&] { core::to_network_input(missing_chroma, 256, 256); }, "missing planes");
  Image frame(8, 8, PixelFormat::Rgb8);
  test::expect_throw<InvalidArgument>(
      [&] { draw_anomaly_overlay(frame.mutable_view(), nullptr, 4, 4, Rect{0, 0, 8, 8}, 0, 0); }, "empty anomaly map");
  const float one = 1.0f;
  test::expect_throw<InvalidArgument>(
      [&] { draw_anomaly_overlay(MutableImageView{}, &one, 1, 1, Rect{0, 0, 8, 8}, 0, 0); }, "empty frame");
}
END_TEST

int main() {
  return test::run_cases("formats", {
      {"positive", TESTS(packed_formats_read_alike, yuv_formats_read_like_rgb, yuv_crop_and_odd_sizes,
                   overlay_changes_only_hot_pixels_in_every_format, overlay_region_and_marks)},
      {"negative", TESTS(bad_views_n)},
  }, test::Fork::PerTest);
}
