// Benchmark (meson test --benchmark, or run directly): what a live model swap costs the stream. Frames flow as fast
// as efficientad takes them (appsrc ! efficientad ! fakesink); after a quiet phase, model-file alternates between two
// models every few frames. It prints the time between consecutive frames at the sink without swaps and around
// each swap (from the request to two frames after the new model took over), the swaps that succeeded, and the
// frames lost. The goal: no frame lost, none delayed by more than one inference (worst gap <= 2 x the median).
//   bench_model_swap [QUIET_FRAMES=60] [SWAPS=10] [FRAMES_BETWEEN_SWAPS=15]
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "fixtures.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kWidth = 1280, kHeight = 720, kWarmup = 10;

GstPadProbeReturn on_sink_buffer(GstPad*, GstPadProbeInfo*, gpointer data) {
  static_cast<std::vector<Clock::time_point>*>(data)->push_back(Clock::now());
  return GST_PAD_PROBE_OK;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

double milliseconds(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  const int quiet = argc > 1 ? std::atoi(argv[1]) : 60;
  const int swaps = argc > 2 ? std::atoi(argv[2]) : 10;
  const int between = argc > 3 ? std::atoi(argv[3]) : 15;
  if (quiet < 10 || swaps < 1 || between < 4) {
    std::fprintf(stderr, "usage: %s [QUIET_FRAMES>=10] [SWAPS>=1] [FRAMES_BETWEEN_SWAPS>=4]\n", argv[0]);
    return 2;
  }
  const std::string folder = test::temp_folder("bench-swap");
  const std::string models[2] = {folder + "/a.efad", folder + "/b.efad"};
  test::write_random_model(models[0], efficientad::ModelGeometry{}, 1);
  test::write_random_model(models[1], efficientad::ModelGeometry{}, 2);

  gchar* description = g_strdup_printf(
      "appsrc name=src format=time block=true max-buffers=2 caps=video/x-raw,format=RGB,width=%d,height=%d,"
      "framerate=30/1 ! efficientad name=detector model-file=%s ! fakesink name=sink sync=false",
      kWidth, kHeight, models[0].c_str());
  GstElement* pipeline = gst_parse_launch(description, nullptr);
  g_free(description);
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  GstElement* detector = gst_bin_get_by_name(GST_BIN(pipeline), "detector");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstPad* sink_pad = gst_element_get_static_pad(sink, "sink");
  std::vector<Clock::time_point> arrivals;
  gst_pad_add_probe(sink_pad, GST_PAD_PROBE_TYPE_BUFFER, on_sink_buffer, &arrivals, nullptr);
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);

  const efficientad::Image image = test::textured_image(kWidth, kHeight, 3);
  GstBuffer* pixels = gst_buffer_new_memdup(image.data(), image.size_bytes());
  const int total = kWarmup + quiet + swaps * between;
  std::vector<int> requested_at;  // frame index pushed next when each swap was requested
  for (int i = 0; i < total; ++i) {
    const int swap_frame = i - kWarmup - quiet;
    if (swap_frame >= 0 && swap_frame % between == 0) {
      requested_at.push_back(i);
      g_object_set(detector, "model-file", models[requested_at.size() % 2].c_str(), nullptr);
    }
    GstBuffer* buffer = gst_buffer_copy(pixels);  // shares the pixels
    GST_BUFFER_PTS(buffer) = gst_util_uint64_scale(guint64(i), GST_SECOND, 30);
    gst_app_src_push_buffer(GST_APP_SRC(src), buffer);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));

  // The bus holds every model-updated message; "frame" is the frame number the new model first analysed.
  std::vector<guint64> took_over_at;
  int failures = 0;
  bool error = false;
  for (;;) {
    GstMessage* message = gst_bus_timed_pop(bus, GST_CLOCK_TIME_NONE);
    const GstMessageType type = GST_MESSAGE_TYPE(message);
    const GstStructure* s = gst_message_get_structure(message);
    if (type == GST_MESSAGE_ELEMENT && gst_structure_has_name(s, "model-updated")) {
      gboolean success = FALSE;
      guint64 frame = 0;
      gst_structure_get_boolean(s, "success", &success);
      if (success && gst_structure_get_uint64(s, "frame", &frame))
        took_over_at.push_back(frame);
      else
        ++failures;
    }
    error = error || type == GST_MESSAGE_ERROR;
    gst_message_unref(message);
    if (type == GST_MESSAGE_EOS || type == GST_MESSAGE_ERROR) break;
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);

  // Gap i = time between the arrival of frame i-1 and frame i. Frames around a swap: from its request to two
  // frames after the takeover (the first frames of a new model).
  std::vector<bool> near_swap(arrivals.size(), false);
  for (size_t k = 0; k < requested_at.size(); ++k) {
    const size_t end = k < took_over_at.size() ? size_t(took_over_at[k]) + 2 : size_t(requested_at[k] + between);
    for (size_t i = size_t(requested_at[k]); i <= end && i < near_swap.size(); ++i) near_swap[i] = true;
  }
  std::vector<double> quiet_gaps, swap_gaps;
  for (size_t i = kWarmup + 1; i < arrivals.size(); ++i) {
    const double gap = milliseconds(arrivals[i] - arrivals[i - 1]);
    if (int(i) < kWarmup + quiet) quiet_gaps.push_back(gap);
    if (near_swap[i]) swap_gaps.push_back(gap);
  }
  const double quiet_median = median(quiet_gaps);
  const double swap_worst = swap_gaps.empty() ? 0 : *std::max_element(swap_gaps.begin(), swap_gaps.end());
  std::printf("%dx%d RGB frames, EfficientAD-S 256x256, swaps every %d frames\n", kWidth, kHeight, between);
  std::printf("  frames pushed %d, at the sink %zu (lost %d)%s\n", total, arrivals.size(),
              total - int(arrivals.size()), error ? ", PIPELINE ERROR" : "");
  std::printf("  swaps requested %zu, took over %zu, failed %d\n", requested_at.size(), took_over_at.size(), failures);
  std::printf("  gap between frames without swaps: median %.1f ms, worst %.1f ms\n", quiet_median,
              quiet_gaps.empty() ? 0 : *std::max_element(quiet_gaps.begin(), quiet_gaps.end()));
  std::printf("  gap around swaps (%zu frames):    median %.1f ms, worst %.1f ms = %.2f x the quiet median "
              "(goal <= 2)\n", swap_gaps.size(), median(swap_gaps), swap_worst,
              quiet_median > 0 ? swap_worst / quiet_median : 0);

  gst_buffer_unref(pixels);
  gst_object_unref(bus);
  gst_object_unref(sink_pad);
  gst_object_unref(sink);
  gst_object_unref(detector);
  gst_object_unref(src);
  gst_object_unref(pipeline);
  std::filesystem::remove_all(folder);
  return error || int(arrivals.size()) != total ? 1 : 0;
}
