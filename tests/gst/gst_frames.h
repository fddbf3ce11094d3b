// Frames, caps and properties for the GstHarness tests.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <string>

namespace test {

inline std::string caps_string(GstVideoFormat format, int width, int height) {
  return std::string("video/x-raw,format=") + gst_video_format_to_string(format) + ",width=" + std::to_string(width) +
         ",height=" + std::to_string(height) + ",framerate=30/1";
}

// A frame of `format` filled with a textured pattern (shifted by `seed`), timestamped as frame `index` at 30 fps.
inline GstBuffer* make_frame(GstVideoFormat format, int width, int height, guint index, guint8 seed = 0) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, format, guint(width), guint(height));
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
  GstMapInfo map;
  gst_buffer_map(buffer, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < map.size; ++i) map.data[i] = guint8((i * 7 + (i / 97) * 13 + seed) & 0xFF);
  gst_buffer_unmap(buffer, &map);
  GST_BUFFER_PTS(buffer) = gst_util_uint64_scale(index, GST_SECOND, 30);
  GST_BUFFER_DURATION(buffer) = GST_SECOND / 30;
  return buffer;
}

// Sets "name=value name=value ..." on an element, each value parsed as gst-launch parses it.
inline void set_properties(GstElement* element, const std::string& options) {
  gchar** pairs = g_strsplit(options.c_str(), " ", -1);
  for (gchar** pair = pairs; *pair; ++pair) {
    gchar** kv = g_strsplit(*pair, "=", 2);
    if (kv[0] && kv[1]) gst_util_set_object_arg(G_OBJECT(element), kv[0], kv[1]);
    g_strfreev(kv);
  }
  g_strfreev(pairs);
}

}  // namespace test
