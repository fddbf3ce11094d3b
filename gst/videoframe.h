/* The bridge between GstVideoFrame and the engine's image views: both elements read (or draw on) mapped frames
 * in place, in every format they accept, without copies. */
#pragma once

#include <gst/video/video.h>


#include "efficientad/image.h"

/* The formats both elements accept (anomalyoverlay draws on all of them too). */
#define EFFICIENTAD_VIDEO_FORMATS "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, xRGB, xBGR, NV12, I420, GRAY8 }"

namespace efficientad::gst {

/* The always-present sink and src pads of an element that takes EFFICIENTAD_VIDEO_FORMATS. */
inline void add_video_pad_templates(GstElementClass* klass) {
  GstCaps* caps = gst_caps_from_string(GST_VIDEO_CAPS_MAKE(EFFICIENTAD_VIDEO_FORMATS));
  gst_element_class_add_pad_template(klass, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template(klass, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref(caps);
}

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

/* The largest roi coordinate or size accepted: far beyond any sensor, small enough that x + width never
 * overflows. */
constexpr gint64 kMaxRoiValue = 1 << 24;

/* "x,y,width,height" -> rectangle; "" or NULL -> whole frame (w = 0). FALSE for anything else, including values
 * beyond kMaxRoiValue. */
inline bool parse_roi(const gchar* text, GstVideoRectangle* out) {
  if (text == NULL || *text == '\0') {
    *out = GstVideoRectangle{0, 0, 0, 0};
    return true;
  }
  gint64 v[4];
  const gchar* p = text;
  for (int i = 0; i < 4; ++i) {
    gchar* end = nullptr;
    while (g_ascii_isspace(*p)) ++p;
    if (!g_ascii_isdigit(*p)) return false;  /* no sign: coordinates and sizes are never negative */
    v[i] = g_ascii_strtoll(p, &end, 10);
    if (end == p || v[i] > kMaxRoiValue) return false;
    p = end;
    while (g_ascii_isspace(*p)) ++p;
    if (i < 3 && *p++ != ',') return false;
  }
  if (*p != '\0' || v[2] == 0 || v[3] == 0) return false;
  *out = GstVideoRectangle{gint(v[0]), gint(v[1]), gint(v[2]), gint(v[3])};
  return true;
}

/* The roi clipped to a width x height frame, starting on even pixels for YUV formats (chroma samples cover 2x2
 * pixels). A roi outside the frame (or none) gives the whole frame; `outside` tells which. */
inline GstVideoRectangle clip_region(const GstVideoRectangle& roi, gint width, gint height, bool yuv, bool* outside) {
  GstVideoRectangle r = {0, 0, width, height};
  *outside = false;
  if (roi.w > 0) {
    const gint x0 = MIN(roi.x, width), y0 = MIN(roi.y, height);
    const gint x1 = MIN(roi.x + roi.w, width), y1 = MIN(roi.y + roi.h, height);
    if (x1 > x0 && y1 > y0)
      r = GstVideoRectangle{x0, y0, x1 - x0, y1 - y0};
    else
      *outside = true;
  }
  if (yuv && (r.x % 2 || r.y % 2)) {
    r.w += r.x % 2, r.h += r.y % 2;
    r.x -= r.x % 2, r.y -= r.y % 2;
  }
  return r;
}

}  // namespace efficientad::gst
