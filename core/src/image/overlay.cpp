#include "efficientad/overlay.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "efficientad/errors.h"
#include "image/image_ops.h"
#include "image/yuv.h"

namespace efficientad {

namespace {

using detail::Rgb;

int opencv_colormap(Colormap c) {
  switch (c) {
    case Colormap::Jet: return cv::COLORMAP_JET;
    case Colormap::Turbo: return cv::COLORMAP_TURBO;
    case Colormap::Inferno: return cv::COLORMAP_INFERNO;
    case Colormap::Viridis: return cv::COLORMAP_VIRIDIS;
  }
  return cv::COLORMAP_JET;
}

std::array<Rgb, 256> colour_table(Colormap c) {
  cv::Mat ramp(1, 256, CV_8UC1), colours;
  for (int i = 0; i < 256; ++i) ramp.at<uint8_t>(0, i) = uint8_t(i);
  cv::applyColorMap(ramp, colours, opencv_colormap(c));
  std::array<Rgb, 256> table;
  for (int i = 0; i < 256; ++i) {
    const cv::Vec3b bgr = colours.at<cv::Vec3b>(0, i);
    table[size_t(i)] = {float(bgr[2]), float(bgr[1]), float(bgr[0])};
  }
  return table;
}

// Byte offsets of red, green and blue in a packed pixel.
struct Layout {
  int r, g, b;
};

Layout packed_layout(PixelFormat f) {
  switch (f) {
    case PixelFormat::Rgb8:
    case PixelFormat::Rgba8:
    case PixelFormat::Rgbx8: return {0, 1, 2};
    case PixelFormat::Bgr8:
    case PixelFormat::Bgra8:
    case PixelFormat::Bgrx8: return {2, 1, 0};
    case PixelFormat::Xrgb8: return {1, 2, 3};
    case PixelFormat::Xbgr8: return {3, 2, 1};
    default: return {0, 0, 0};
  }
}

// A colour for OpenCV's drawing functions on a packed frame: R, G, B placed at the format's offsets.
cv::Scalar native_colour(PixelFormat f, const Rgb& c) {
  if (f == PixelFormat::Gray8) return cv::Scalar(0.299 * c.r + 0.587 * c.g + 0.114 * c.b);
  const Layout l = packed_layout(f);
  cv::Scalar s(255, 255, 255, 255);
  s[l.r] = c.r, s[l.g] = c.g, s[l.b] = c.b;
  return s;
}

uint8_t blend(uint8_t from, float to, float opacity) { return detail::clamp_u8(from + opacity * (to - from)); }

// The region of the frame that is drawn on: for YUV frames only the luma plane (outline and label).
cv::Mat drawing_surface(const MutableImageView& f, const Rect& r) {
  const int type = is_yuv(f.format) ? CV_8UC1 : CV_8UC(bytes_per_pixel(f.format));
  return cv::Mat(f.height, f.width, type, f.data, f.row_bytes())(cv::Rect(r.x, r.y, r.width, r.height));
}

void draw_marks(const MutableImageView& f, const cv::Mat& values, const Rect& r, float score, float threshold,
                const OverlayStyle& s) {
  cv::Mat surface = drawing_surface(f, r);
  const bool luma_only = is_yuv(f.format);
  const detail::YuvCoefficients k(f.yuv_matrix, f.yuv_full_range);
  auto colour = [&](const Rgb& c) { return luma_only ? cv::Scalar(k.to_yuv(c).y) : native_colour(f.format, c); };
  if (s.outline) {
    const cv::Mat above = values > threshold;
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(above, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    cv::drawContours(surface, contours, -1, colour({255, 255, 255}), std::max(1, r.width / 300), cv::LINE_8);
  }
  if (s.label) {
    char text[48];
    std::snprintf(text, sizeof text, "%s %.3f", score > threshold ? "ANOMALY" : "ok", score);
    const double font = std::clamp(r.width / 640.0, 0.35, 2.0);
    const cv::Point at(4, int(22 * font + 2));
    const Rgb fill = luma_only || f.format == PixelFormat::Gray8 ? Rgb{255, 255, 255}
                     : score > threshold                         ? Rgb{255, 60, 60}
                                                                 : Rgb{60, 255, 60};
    cv::putText(surface, text, at, cv::FONT_HERSHEY_SIMPLEX, font, colour({0, 0, 0}), 3, cv::LINE_8);
    cv::putText(surface, text, at, cv::FONT_HERSHEY_SIMPLEX, font, colour(fill), 1, cv::LINE_8);
  }
}

}  // namespace

void draw_boxes(const MutableImageView& f, const std::vector<Rect>& boxes, int thickness) {
  if (f.empty() || boxes.empty()) return;
  cv::Mat surface = drawing_surface(f, Rect{0, 0, f.width, f.height});
  const Rgb amber{255, 200, 0};  // apart from the heat map's colours and the white outlines
  const cv::Scalar colour = is_yuv(f.format) ? cv::Scalar(detail::YuvCoefficients(f.yuv_matrix, f.yuv_full_range).to_yuv(amber).y)
                                             : native_colour(f.format, amber);
  const int t = thickness > 0 ? thickness : std::max(1, f.width / 400);
  for (const Rect& b : boxes) {
    const cv::Rect box = cv::Rect(b.x, b.y, b.width, b.height) & cv::Rect(0, 0, f.width, f.height);
    if (box.width > 0 && box.height > 0) cv::rectangle(surface, box, colour, t, cv::LINE_8);
  }
}

void draw_anomaly_overlay(const MutableImageView& f, const float* map, int map_width, int map_height,
                          const Rect& requested, float score, float threshold, const OverlayStyle& s) {
  if (!map || map_width <= 0 || map_height <= 0) throw InvalidArgument("draw_anomaly_overlay: empty anomaly map");
  if (f.empty()) throw InvalidArgument("draw_anomaly_overlay: empty frame");
  Rect r;  // the requested region clipped to the frame
  r.x = std::clamp(requested.x, 0, f.width);
  r.y = std::clamp(requested.y, 0, f.height);
  r.width = std::clamp(requested.x + requested.width, 0, f.width) - r.x;
  r.height = std::clamp(requested.y + requested.height, 0, f.height) - r.y;
  if (r.width <= 0 || r.height <= 0) return;

  cv::Mat values;
  cv::resize(cv::Mat(map_height, map_width, CV_32FC1, const_cast<float*>(map)), values, cv::Size(r.width, r.height), 0,
             0, cv::INTER_LINEAR);
  const float top = s.max_value > s.min_value ? s.max_value : std::max(2.0f * threshold, s.min_value + 1e-6f);
  const std::array<Rgb, 256> table = colour_table(s.colormap);
  // Opacity and colour of one pixel; opacity 0 for values at or below min_value.
  auto paint = [&](float v, Rgb& c) {
    if (!(v > s.min_value)) return 0.0f;
    const float t = std::clamp((v - s.min_value) / (top - s.min_value), 0.0f, 1.0f);
    c = table[size_t(t * 255.0f)];
    return s.alpha * (0.25f + 0.75f * t);
  };

  if (!is_yuv(f.format)) {
    const int bpp = bytes_per_pixel(f.format);
    const Layout l = packed_layout(f.format);
    for (int y = 0; y < r.height; ++y) {
      uint8_t* px = f.data + size_t(r.y + y) * f.row_bytes() + size_t(r.x) * bpp;
      const float* v = values.ptr<float>(y);
      for (int x = 0; x < r.width; ++x, px += bpp) {
        Rgb c;
        const float a = paint(v[x], c);
        if (a <= 0) continue;
        if (f.format == PixelFormat::Gray8) {
          px[0] = blend(px[0], 0.299f * c.r + 0.587f * c.g + 0.114f * c.b, a);
        } else {
          px[l.r] = blend(px[l.r], c.r, a), px[l.g] = blend(px[l.g], c.g, a), px[l.b] = blend(px[l.b], c.b, a);
        }
      }
    }
  } else {
    // Luma per pixel; chroma per 2x2 block with the block's mean opacity and opacity-weighted colour.
    const detail::YuvCoefficients k(f.yuv_matrix, f.yuv_full_range);
    for (int by = 0; by < r.height; by += 2) {
      for (int bx = 0; bx < r.width; bx += 2) {
        float sum_a = 0, sum_u = 0, sum_v = 0;
        for (int dy = 0; dy < 2 && by + dy < r.height; ++dy) {
          for (int dx = 0; dx < 2 && bx + dx < r.width; ++dx) {
            Rgb c;
            const float a = paint(values.at<float>(by + dy, bx + dx), c);
            if (a <= 0) continue;
            const detail::Yuv target = k.to_yuv(c);
            uint8_t& luma = f.data[size_t(r.y + by + dy) * f.row_bytes() + size_t(r.x + bx + dx)];
            luma = blend(luma, target.y, a);
            sum_a += a, sum_u += a * target.u, sum_v += a * target.v;
          }
        }
        if (sum_a <= 0) continue;
        const int cy = (r.y + by) / 2, cx = (r.x + bx) / 2;  // regions from the detector start on even pixels
        const float opacity = sum_a / 4.0f, u = sum_u / sum_a, v = sum_v / sum_a;
        if (f.format == PixelFormat::Nv12) {
          uint8_t* uv = f.chroma[0] + size_t(cy) * f.chroma_row_bytes(0) + size_t(2 * cx);
          uv[0] = blend(uv[0], u, opacity), uv[1] = blend(uv[1], v, opacity);
        } else {
          uint8_t* pu = f.chroma[0] + size_t(cy) * f.chroma_row_bytes(0) + size_t(cx);
          uint8_t* pv = f.chroma[1] + size_t(cy) * f.chroma_row_bytes(1) + size_t(cx);
          *pu = blend(*pu, u, opacity), *pv = blend(*pv, v, opacity);
        }
      }
    }
  }
  draw_marks(f, values, r, score, threshold, s);
}

Image render_heatmap(const ImageView& image, const AnomalyMap& map, float score, float threshold,
                     const OverlayStyle& style) {
  if (map.values.empty()) throw InvalidArgument("render_heatmap: empty anomaly map");
  Image out = detail::to_network_input(image, image.width, image.height);  // an Rgb8 copy
  draw_anomaly_overlay(out.mutable_view(), map.values.data(), map.width, map.height,
                       Rect{0, 0, out.width(), out.height()}, score, threshold, style);
  return out;
}

}  // namespace efficientad
