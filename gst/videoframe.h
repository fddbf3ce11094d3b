/* The bridge between GstVideoFrame and the engine's image views: both elements read (or draw on) mapped frames
 * in place, in every format they accept, without copies. */
#pragma once

#include <gst/video/video.h>

#include "efficientad/image.h"

/* The formats both elements accept (anomalyoverlay draws on all of them too). */
#define EFFICIENTAD_VIDEO_FORMATS "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, xRGB, xBGR, NV12, I420, GRAY8 }"

namespace efficientad::gst {

inline bool pixel_format_of(GstVideoFormat format, PixelFormat* out) {
  switch (format) {
    case GST_VIDEO_FORMAT_RGB: *out = PixelFormat::Rgb8; return true;
    case GST_VIDEO_FORMAT_BGR: *out = PixelFormat::Bgr8; return true;
    case GST_VIDEO_FORMAT_RGBA: *out = PixelFormat::Rgba8; return true;
    case GST_VIDEO_FORMAT_BGRA: *out = PixelFormat::Bgra8; return true;
    case GST_VIDEO_FORMAT_RGBx: *out = PixelFormat::Rgbx8; return true;
    case GST_VIDEO_FORMAT_BGRx: *out = PixelFormat::Bgrx8; return true;
    case GST_VIDEO_FORMAT_xRGB: *out = PixelFormat::Xrgb8; return true;
    case GST_VIDEO_FORMAT_xBGR: *out = PixelFormat::Xbgr8; return true;
    case GST_VIDEO_FORMAT_NV12: *out = PixelFormat::Nv12; return true;
    case GST_VIDEO_FORMAT_I420: *out = PixelFormat::I420; return true;
    case GST_VIDEO_FORMAT_GRAY8: *out = PixelFormat::Gray8; return true;
    default: return false;
  }
}

/* A view of a mapped frame; View is ImageView (read) or MutableImageView (draw). The format must be one of
 * EFFICIENTAD_VIDEO_FORMATS (the caps guarantee it). */
template <typename View>
View view_of(GstVideoFrame* frame) {
  View view;
  pixel_format_of(GST_VIDEO_FRAME_FORMAT(frame), &view.format);
  view.width = GST_VIDEO_FRAME_WIDTH(frame);
  view.height = GST_VIDEO_FRAME_HEIGHT(frame);
  view.data = static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(frame, 0));
  view.stride = size_t(GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0));
  for (guint plane = 1; plane < GST_VIDEO_FRAME_N_PLANES(frame) && plane < 3; ++plane) {
    view.chroma[plane - 1] = static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(frame, plane));
    view.chroma_stride[plane - 1] = size_t(GST_VIDEO_FRAME_PLANE_STRIDE(frame, plane));
  }
  const GstVideoColorimetry& colorimetry = GST_VIDEO_INFO_COLORIMETRY(&frame->info);
  view.yuv_matrix = colorimetry.matrix == GST_VIDEO_COLOR_MATRIX_BT709 ? YuvMatrix::Bt709 : YuvMatrix::Bt601;
  view.yuv_full_range = colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
  return view;
}

}  // namespace efficientad::gst
