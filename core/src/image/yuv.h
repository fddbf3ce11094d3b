// YUV <-> RGB for one pixel, BT.601 or BT.709, limited (16-235) or full range: the conversions GStreamer's
// colorimetry describes for NV12 and I420 frames.
#pragma once

#include <algorithm>
#include <cstdint>

#include "efficientad/image.h"

namespace efficientad::detail {

struct Rgb {
  float r, g, b;
};
struct Yuv {
  float y, u, v;
};

struct YuvCoefficients {
  float kr, kb;  // luma weights of red and blue
  bool full_range;
  explicit YuvCoefficients(YuvMatrix matrix, bool full)
      : kr(matrix == YuvMatrix::Bt709 ? 0.2126f : 0.299f), kb(matrix == YuvMatrix::Bt709 ? 0.0722f : 0.114f),
        full_range(full) {}

  Rgb to_rgb(uint8_t y8, uint8_t u8, uint8_t v8) const {
    const float y = full_range ? y8 : (y8 - 16.0f) * (255.0f / 219.0f);
    const float scale = full_range ? 1.0f : 255.0f / 224.0f;
    const float cb = (u8 - 128.0f) * scale, cr = (v8 - 128.0f) * scale;
    const float kg = 1.0f - kr - kb;
    const float r = y + 2.0f * (1.0f - kr) * cr;
    const float b = y + 2.0f * (1.0f - kb) * cb;
    const float g = (y - kr * r - kb * b) / kg;
    return {r, g, b};
  }

  Yuv to_yuv(const Rgb& c) const {
    const float y = kr * c.r + (1.0f - kr - kb) * c.g + kb * c.b;
    const float cb = (c.b - y) / (2.0f * (1.0f - kb)), cr = (c.r - y) / (2.0f * (1.0f - kr));
    if (full_range) return {y, 128.0f + cb, 128.0f + cr};
    return {16.0f + y * (219.0f / 255.0f), 128.0f + cb * (224.0f / 255.0f), 128.0f + cr * (224.0f / 255.0f)};
  }
};

inline uint8_t clamp_u8(float v) { return uint8_t(std::clamp(v + 0.5f, 0.0f, 255.0f)); }

}  // namespace efficientad::detail
