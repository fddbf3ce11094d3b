// libFuzzer target: efficientad's caps and buffer path through a GstHarness. Each input picks a pixel format,
// a frame size and an roi text, sets those caps and properties mid-stream, and pushes a buffer made of the rest
// of the input, whatever its size: the element must pass every buffer on and never crash or hang.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fixtures.h"

namespace {

const GstVideoFormat kFormats[] = {GST_VIDEO_FORMAT_RGB,  GST_VIDEO_FORMAT_BGR,  GST_VIDEO_FORMAT_RGBA,
                                   GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_BGRx,
                                   GST_VIDEO_FORMAT_xRGB, GST_VIDEO_FORMAT_xBGR, GST_VIDEO_FORMAT_NV12,
                                   GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_GRAY8};

GstHarness* harness = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  gst_init(argc, argv);
  const std::string model = test::temp_folder("fuzz-element") + "/model.efad";
  test::write_random_model(model, efficientad::ModelGeometry{});
  GstElement* element = gst_element_factory_make("efficientad", nullptr);
  if (!element) std::abort();  // GST_PLUGIN_PATH_1_0 must hold this build's gst folder (tests/fuzz/run.sh sets it)
  g_object_set(element, "model-file", model.c_str(), "threads", 1u, nullptr);
  harness = gst_harness_new_with_element(element, "sink", "src");
  gst_object_unref(element);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 6) return 0;
  const GstVideoFormat format = kFormats[data[0] % G_N_ELEMENTS(kFormats)];
  const int width = 1 + (data[1] | (data[2] & 0x3) << 8);   // 1..1024
  const int height = 1 + (data[3] | (data[4] & 0x3) << 8);  // 1..1024
  const size_t roi_length = data[5] % 24;
  if (size < 6 + roi_length) return 0;
  const std::string roi(reinterpret_cast<const char*>(data + 6), roi_length);
  g_object_set(harness->element, "roi", roi.c_str(), nullptr);  // refused with a warning when unusable
  const std::string caps = std::string("video/x-raw,format=") + gst_video_format_to_string(format) +
                           ",width=" + std::to_string(width) + ",height=" + std::to_string(height) + ",framerate=30/1";
  gst_harness_set_src_caps_str(harness, caps.c_str());
  const size_t payload = size - 6 - roi_length;
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, payload, nullptr);
  if (payload > 0) gst_buffer_fill(buffer, 0, data + 6 + roi_length, payload);
  if (gst_harness_push(harness, buffer) != GST_FLOW_OK) std::abort();  // every buffer must pass
  gst_buffer_unref(gst_harness_pull(harness));
  return 0;
}
