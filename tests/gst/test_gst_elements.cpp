// The efficientad and anomalyoverlay elements through GstHarness, isolated from the system plugin registry:
// metadata, every format, caps changes, region of interest, interval, threshold changes while playing, alarm
// messages, the overlay, meta transforms, state cycles; and the ways a pipeline can go wrong.
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "check_main.h"
#include "fixtures.h"
#include "gst_frames.h"
#include "meta/gstanomalymeta.h"

namespace {

using test::caps_string;
using test::make_frame;

std::string folder, model_path, other_model_path;  // two models with different ids

const GstVideoFormat kFormats[] = {GST_VIDEO_FORMAT_RGB,  GST_VIDEO_FORMAT_BGR,  GST_VIDEO_FORMAT_RGBA,
                                   GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_BGRx,
                                   GST_VIDEO_FORMAT_xRGB, GST_VIDEO_FORMAT_xBGR, GST_VIDEO_FORMAT_NV12,
                                   GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_GRAY8};

// An efficientad element with the fixture model and `options` ("name=value ..."), started, with input caps.
GstHarness* detector(const std::string& options, GstVideoFormat format = GST_VIDEO_FORMAT_RGB, int width = 320,
                     int height = 240) {
  GstElement* element = gst_element_factory_make("efficientad", nullptr);
  fail_unless(element != nullptr, "efficientad not found: is GST_PLUGIN_PATH_1_0 the build's gst folder?");
  g_object_set(element, "model-file", model_path.c_str(), nullptr);
  test::set_properties(element, options);
  GstHarness* h = gst_harness_new_with_element(element, "sink", "src");
  gst_object_unref(element);
  gst_harness_set_src_caps_str(h, caps_string(format, width, height).c_str());
  return h;
}

// Pushes one frame and returns the buffer that came out (caller unrefs).
GstBuffer* push_pull(GstHarness* h, GstVideoFormat format, int width, int height, guint index, guint8 seed = 0) {
  fail_unless_equals_int(gst_harness_push(h, make_frame(format, width, height, index, seed)), GST_FLOW_OK);
  return gst_harness_pull(h);
}

// The element alone, taken to `state`; returns the state change result and the first error's message.
GstStateChangeReturn start_alone(const std::string& options, std::string* error_text) {
  GstElement* element = gst_parse_bin_from_description(("efficientad " + options).c_str(), FALSE, nullptr);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(element, bus);
  const GstStateChangeReturn result = gst_element_set_state(element, GST_STATE_PAUSED);
  GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  if (message && error_text) {
    GError* error = nullptr;
    gst_message_parse_error(message, &error, nullptr);
    *error_text = error->message;
    g_error_free(error);
  }
  if (message) gst_message_unref(message);
  gst_element_set_state(element, GST_STATE_NULL);
  gst_element_set_bus(element, nullptr);
  gst_object_unref(bus);
  gst_object_unref(element);
  return result;
}

void expect_start_error(const std::string& options, const char* needle) {
  std::string text;
  fail_unless_equals_int(start_alone(options, &text), GST_STATE_CHANGE_FAILURE);
  fail_unless(text.find(needle) != std::string::npos, "error '%s' lacks '%s'", text.c_str(), needle);
}

std::vector<std::string> element_messages(GstBus* bus, const char* field) {
  std::vector<std::string> events;
  while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure* s = gst_message_get_structure(m);
    if (gst_structure_has_name(s, "anomaly")) events.push_back(gst_structure_get_string(s, field));
    gst_message_unref(m);
  }
  return events;
}


// The "model-updated" messages on `bus` as "success:model-id" or "failure:error".
std::vector<std::string> model_updates(GstBus* bus) {
  std::vector<std::string> updates;
  while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure* s = gst_message_get_structure(m);
    gboolean success = FALSE;
    if (gst_structure_has_name(s, "model-updated") && gst_structure_get_boolean(s, "success", &success)) {
      updates.push_back(success ? std::string("success:") + gst_structure_get_string(s, "model-id")
                                : std::string("failure:") + gst_structure_get_string(s, "error"));
    }
    gst_message_unref(m);
  }
  return updates;
}

// Pushes frames (each must come out, with meta) until `done` says so or 10 s pass; returns the frames pushed.
template <typename Done>
guint stream_until(GstHarness* h, guint& index, Done done) {
  const gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
  guint pushed = 0;
  while (g_get_monotonic_time() < deadline) {
    GstBuffer* out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, index++);
    pushed++;
    GstAnomalyMeta* meta = gst_buffer_get_anomaly_meta(out);
    fail_unless(meta != nullptr, "frame %u lost its analysis during a swap", index - 1);
    const bool finished = done(meta);
    gst_buffer_unref(out);
    if (finished) break;
    g_usleep(20000);
  }
  return pushed;
}

}  // namespace

GST_START_TEST(meta_has_map_rect_and_model) {
  GstHarness* h = detector("");
  GstBuffer* out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 0);
  GstAnomalyMeta* meta = gst_buffer_get_anomaly_meta(out);
  fail_unless(meta != nullptr);
  fail_unless_equals_int(meta->map_width, 256);  // the model's input resolution
  fail_unless_equals_int(meta->map_height, 256);
  fail_unless_equals_int(meta->rect.x, 0);
  fail_unless_equals_int(meta->rect.w, 320);
  fail_unless_equals_int(meta->rect.h, 240);
  fail_unless(std::isfinite(meta->score));
  fail_unless_equals_float(meta->threshold, 0.4f);  // the fixture model's calibrated threshold
  fail_unless_equals_int(meta->anomalous, meta->score > meta->threshold);
  gchar* id = nullptr;
  g_object_get(h->element, "model-id", &id, nullptr);
  fail_unless_equals_string(meta->model_id, id);
  g_free(id);
  float largest = -1e9f;
  for (guint i = 0; i < meta->map_width * meta->map_height; ++i) largest = std::max(largest, meta->map[i]);
  fail_unless(std::abs(largest - meta->score) < 1e-3f, "score %f is not the map's maximum %f", meta->score, largest);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(every_format_gets_meta) {
  for (GstVideoFormat format : kFormats) {
    for (auto [w, hgt] : {std::pair{320, 240}, std::pair{161, 91}}) {
      GstHarness* h = detector("", format, w, hgt);
      GstBuffer* out = push_pull(h, format, w, hgt, 0);
      GstAnomalyMeta* meta = gst_buffer_get_anomaly_meta(out);
      fail_unless(meta != nullptr, "no meta for %s %dx%d", gst_video_format_to_string(format), w, hgt);
      fail_unless_equals_int(meta->rect.w, w);
      fail_unless(std::isfinite(meta->score));
      gst_buffer_unref(out);
      gst_harness_teardown(h);
    }
  }
}
GST_END_TEST;

GST_START_TEST(caps_change_mid_stream) {
  GstHarness* h = detector("");
  GstBuffer* out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 0);
  fail_unless_equals_int(gst_buffer_get_anomaly_meta(out)->rect.w, 320);
  gst_buffer_unref(out);
  gst_harness_set_src_caps_str(h, caps_string(GST_VIDEO_FORMAT_NV12, 640, 480).c_str());
  out = push_pull(h, GST_VIDEO_FORMAT_NV12, 640, 480, 1);
  GstAnomalyMeta* meta = gst_buffer_get_anomaly_meta(out);
  fail_unless_equals_int(meta->rect.w, 640);
  fail_unless_equals_int(meta->rect.h, 480);
  fail_unless_equals_int(meta->frame_number, 1);
  gst_buffer_unref(out);
  gst_harness_set_src_caps_str(h, caps_string(GST_VIDEO_FORMAT_GRAY8, 100, 700).c_str());
  out = push_pull(h, GST_VIDEO_FORMAT_GRAY8, 100, 700, 2);
  fail_unless_equals_int(gst_buffer_get_anomaly_meta(out)->rect.h, 700);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(roi_sets_the_rectangle) {
  GstHarness* h = detector("roi=10,20,100,50");
  GstBuffer* out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 0);
  GstAnomalyMeta* meta = gst_buffer_get_anomaly_meta(out);
  fail_unless(meta->rect.x == 10 && meta->rect.y == 20 && meta->rect.w == 100 && meta->rect.h == 50);
  gst_buffer_unref(out);
  // Partly outside: clipped to the frame.
  g_object_set(h->element, "roi", "300,200,100,100", nullptr);
  out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 1);
  meta = gst_buffer_get_anomaly_meta(out);
  fail_unless(meta->rect.x == 300 && meta->rect.w == 20 && meta->rect.h == 40);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
  // YUV frames: the rectangle starts on even pixels and still covers the requested one.
  h = detector("roi=11,21,100,50", GST_VIDEO_FORMAT_NV12, 320, 240);
  out = push_pull(h, GST_VIDEO_FORMAT_NV12, 320, 240, 0);
  meta = gst_buffer_get_anomaly_meta(out);
  fail_unless(meta->rect.x == 10 && meta->rect.y == 20 && meta->rect.w == 101 && meta->rect.h == 51);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(inference_interval_skips_frames) {
  GstHarness* h = detector("inference-interval=3");
  for (guint i = 0; i < 7; ++i) {
    GstBuffer* out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, i);
    GstAnomalyMeta* meta = gst_buffer_get_anomaly_meta(out);
    fail_unless_equals_int(meta != nullptr, i % 3 == 0);
    if (meta) fail_unless_equals_int(meta->frame_number, i);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(threshold_changes_while_playing) {
  GstHarness* h = detector("");
  GstBuffer* out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 0);
  const gfloat score = gst_buffer_get_anomaly_meta(out)->score;
  gst_buffer_unref(out);
  gfloat reported = 0;
  g_object_get(h->element, "threshold", &reported, nullptr);
  fail_unless_equals_float(reported, 0.4f);  // -1 reads as the model's threshold once it is loaded
  for (gfloat threshold : {std::max(score - 0.05f, 0.0f), score + 0.05f}) {
    g_object_set(h->element, "threshold", threshold, nullptr);
    out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 1);
    GstAnomalyMeta* meta = gst_buffer_get_anomaly_meta(out);
    fail_unless_equals_float(meta->threshold, threshold);
    fail_unless_equals_int(meta->anomalous, score > threshold);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

// threshold=-1 is the model's threshold for the maps the element computes: the int8 one in fast mode on a CPU.
GST_START_TEST(calibrated_threshold_follows_the_mode) {
  const std::string int8_model = folder + "/int8.efad";
  test::write_random_model(int8_model, efficientad::ModelGeometry{}, 3, 0.55f);
  for (const char* mode : {"fast", "exact"}) {
    GstHarness* h = detector("model-file=" + int8_model + " device=cpu mode=" + mode);
    GstBuffer* out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 0);
    const gfloat expected = std::string(mode) == "fast" ? 0.55f : 0.4f;
    fail_unless_equals_float(gst_buffer_get_anomaly_meta(out)->threshold, expected);
    gfloat reported = 0;
    g_object_get(h->element, "threshold", &reported, nullptr);
    fail_unless_equals_float(reported, expected);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

GST_START_TEST(messages_at_edges_with_hysteresis) {
  GstHarness* h = detector("alarm-on-frames=2 alarm-off-frames=2");
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  // Drive the decision with the threshold: anomalous frames use threshold 0, normal ones a huge threshold.
  const bool anomalous[] = {true, false, true, true, true, false, true, false, false, false};
  std::vector<std::string> events_after;
  guint index = 0;
  for (bool a : anomalous) {
    g_object_set(h->element, "threshold", a ? 0.0f : 1e9f, nullptr);
    gst_buffer_unref(push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, index++));
    for (const auto& e : element_messages(bus, "event")) events_after.push_back(std::to_string(index - 1) + ":" + e);
  }
  // Begin after two anomalous frames in a row (frame 3), end after two normal ones (frame 8): nothing between.
  const std::vector<std::string> expected{"3:begin", "8:end"};
  fail_unless(events_after == expected, "got %zu events, first %s", events_after.size(),
              events_after.empty() ? "none" : events_after[0].c_str());
  // post-messages=all adds one "frame" message per analysed frame, with the documented fields.
  g_object_set(h->element, "post-messages", 2 /* all */, "threshold", 1e9f, nullptr);
  gst_buffer_unref(push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, index++));
  GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
  fail_unless(m != nullptr);
  const GstStructure* s = gst_message_get_structure(m);
  fail_unless_equals_string(gst_structure_get_string(s, "event"), "frame");
  guint64 timestamp = 0, running_time = 0;
  gfloat score = 0;
  gboolean is_anomalous = TRUE;
  fail_unless(gst_structure_get_uint64(s, "timestamp", &timestamp) && timestamp == gst_util_uint64_scale(10, GST_SECOND, 30));
  fail_unless(gst_structure_get_uint64(s, "running-time", &running_time));
  fail_unless(gst_structure_get(s, "score", G_TYPE_FLOAT, &score, "anomalous", G_TYPE_BOOLEAN, &is_anomalous, nullptr));
  fail_unless(!is_anomalous);
  gst_message_unref(m);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(overlay_draws_only_where_the_map_is_high) {
  for (GstVideoFormat format : kFormats) {
    GstHarness* h = gst_harness_new("anomalyoverlay");
    g_object_set(h->element, "outline", FALSE, "show-score", FALSE, nullptr);
    gst_harness_set_src_caps_str(h, caps_string(format, 128, 96).c_str());
    // Without meta: untouched.
    GstBuffer* plain = make_frame(format, 128, 96, 0);
    GstBuffer* reference = gst_buffer_copy_deep(plain);
    fail_unless_equals_int(gst_harness_push(h, plain), GST_FLOW_OK);
    GstBuffer* out = gst_harness_pull(h);
    GstMapInfo a, b;
    gst_buffer_map(out, &a, GST_MAP_READ);
    gst_buffer_map(reference, &b, GST_MAP_READ);
    fail_unless(a.size == b.size && std::memcmp(a.data, b.data, a.size) == 0, "%s: frame without meta changed",
                gst_video_format_to_string(format));
    gst_buffer_unmap(out, &a);
    gst_buffer_unmap(reference, &b);
    gst_buffer_unref(out);
    // With a map that is hot in its right half only, covering the whole frame.
    std::vector<float> map(16 * 8, 0.0f);
    for (int y = 0; y < 8; ++y) {
      for (int x = 8; x < 16; ++x) map[size_t(y) * 16 + x] = 1.0f;
    }
    GstBuffer* marked = gst_buffer_copy_deep(reference);
    const GstVideoRectangle rect{0, 0, 128, 96};
    gst_buffer_add_anomaly_meta(marked, 1.0f, 0.4f, TRUE, map.data(), 16, 8, &rect, "test", 0);
    fail_unless_equals_int(gst_harness_push(h, marked), GST_FLOW_OK);
    out = gst_harness_pull(h);
    GstVideoInfo info;
    gst_video_info_set_format(&info, format, 128, 96);
    GstVideoFrame drawn, original;
    gst_video_frame_map(&drawn, &info, out, GST_MAP_READ);
    gst_video_frame_map(&original, &info, reference, GST_MAP_READ);
    const guint8* p = static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&drawn, 0));
    const guint8* q = static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&original, 0));
    const gint stride = GST_VIDEO_FRAME_PLANE_STRIDE(&drawn, 0), pixel = GST_VIDEO_FRAME_COMP_PSTRIDE(&drawn, 0);
    int changed_left = 0, changed_right = 0;
    for (int y = 0; y < 96; ++y) {
      for (int x = 0; x < 128; ++x) {
        const bool differs = std::memcmp(p + y * stride + x * pixel, q + y * stride + x * pixel, size_t(pixel)) != 0;
        (x < 56 ? changed_left : changed_right) += differs && (x < 56 || x >= 72);
      }
    }
    fail_unless(changed_left == 0, "%s: %d pixels changed where the map is 0", gst_video_format_to_string(format), changed_left);
    fail_unless(changed_right > 40 * 96, "%s: only %d hot pixels drawn", gst_video_format_to_string(format), changed_right);
    gst_video_frame_unmap(&drawn);
    gst_video_frame_unmap(&original);
    gst_buffer_unref(out);
    gst_buffer_unref(reference);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

GST_START_TEST(detector_then_overlay) {
  GstHarness* h = gst_harness_new_parse(("efficientad model-file=" + model_path + " threshold=0 ! anomalyoverlay").c_str());
  gst_harness_set_src_caps_str(h, caps_string(GST_VIDEO_FORMAT_I420, 320, 240).c_str());
  GstBuffer* in = make_frame(GST_VIDEO_FORMAT_I420, 320, 240, 0);
  GstBuffer* reference = gst_buffer_copy_deep(in);
  fail_unless_equals_int(gst_harness_push(h, in), GST_FLOW_OK);
  GstBuffer* out = gst_harness_pull(h);
  fail_unless(gst_buffer_get_anomaly_meta(out) != nullptr);
  GstMapInfo a, b;
  gst_buffer_map(out, &a, GST_MAP_READ);
  gst_buffer_map(reference, &b, GST_MAP_READ);
  fail_unless(std::memcmp(a.data, b.data, a.size) != 0, "an anomalous frame (threshold 0) was not drawn on");
  gst_buffer_unmap(out, &a);
  gst_buffer_unmap(reference, &b);
  gst_buffer_unref(out);
  gst_buffer_unref(reference);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(meta_copies_and_scales_with_the_frame) {
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, 16, nullptr);
  const float map[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  const GstVideoRectangle rect{100, 50, 200, 100};
  GstAnomalyMeta* original = gst_buffer_add_anomaly_meta(buffer, 0.4f, 0.3f, TRUE, map, 2, 2, &rect, "m1", 7);
  const GstAnomalyRegion region{{200, 100, 100, 50}, 4000, 0.4f, 0.35f};
  gst_anomaly_meta_set_regions(original, &region, 1);
  GstBuffer* copy = gst_buffer_copy(buffer);
  GstAnomalyMeta* c = gst_buffer_get_anomaly_meta(copy);
  fail_unless(c && c->map != gst_buffer_get_anomaly_meta(buffer)->map && c->map[3] == 0.4f && c->frame_number == 7);
  fail_unless_equals_string(c->model_id, "m1");
  fail_unless_equals_float(gst_anomaly_meta_get_value(c, 1, 1), 0.4f);
  fail_unless_equals_float(gst_anomaly_meta_get_value(c, 5, 0), 0.0f);
  gsize n = 0;
  fail_unless(gst_anomaly_meta_get_map(c, &n) == c->map && n == 4);
  fail_unless(c->n_regions == 1 && c->regions != original->regions && c->regions[0].area == 4000);
  fail_unless(gst_anomaly_meta_get_region(c, 0)->box.x == 200 && gst_anomaly_meta_get_region(c, 1) == nullptr);
  // Scaling 640x360 -> 320x180 halves the rectangle.
  GstVideoInfo in_info, out_info;
  gst_video_info_set_format(&in_info, GST_VIDEO_FORMAT_RGB, 640, 360);
  gst_video_info_set_format(&out_info, GST_VIDEO_FORMAT_RGB, 320, 180);
  GstVideoMetaTransform scale{&in_info, &out_info};
  GstBuffer* scaled = gst_buffer_new();
  GstMeta* meta = reinterpret_cast<GstMeta*>(gst_buffer_get_anomaly_meta(buffer));
  fail_unless(meta->info->transform_func(scaled, meta, buffer, gst_video_meta_transform_scale_get_quark(), &scale));
  GstAnomalyMeta* s = gst_buffer_get_anomaly_meta(scaled);
  fail_unless(s->rect.x == 50 && s->rect.y == 25 && s->rect.w == 100 && s->rect.h == 50);
  // ... and the region boxes, and divides region areas by four.
  fail_unless(s->n_regions == 1 && s->regions[0].box.x == 100 && s->regions[0].box.y == 50 &&
              s->regions[0].box.w == 50 && s->regions[0].box.h == 25 && s->regions[0].area == 1000);
  // Any other transform is refused: the map would not line up with the picture.
  GstBuffer* other = gst_buffer_new();
  fail_if(meta->info->transform_func(other, meta, buffer, g_quark_from_static_string("gst-video-rotate"), nullptr));
  fail_unless(gst_buffer_get_anomaly_meta(other) == nullptr);
  for (GstBuffer* b : {buffer, copy, scaled, other}) gst_buffer_unref(b);
}
GST_END_TEST;

// 8-connected components of map > threshold, by breadth-first search: an independent reference for the element.
std::vector<size_t> component_sizes(const GstAnomalyMeta* m, float threshold) {
  const int w = int(m->map_width), h = int(m->map_height);
  std::vector<int> seen(size_t(w) * h, 0);
  std::vector<size_t> sizes;
  for (int start = 0; start < w * h; ++start) {
    if (seen[size_t(start)] || !(m->map[start] > threshold)) continue;
    std::vector<int> queue{start};
    seen[size_t(start)] = 1;
    for (size_t q = 0; q < queue.size(); ++q) {
      const int x = queue[q] % w, y = queue[q] / w;
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
          const int nx = x + dx, ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const int n = ny * w + nx;
          if (!seen[size_t(n)] && m->map[n] > threshold) seen[size_t(n)] = 1, queue.push_back(n);
        }
      }
    }
    sizes.push_back(queue.size());
  }
  std::sort(sizes.rbegin(), sizes.rend());
  return sizes;
}

// The anomaly ROI metas of a buffer, by id.
std::vector<GstVideoRegionOfInterestMeta*> anomaly_rois(GstBuffer* buffer) {
  std::vector<GstVideoRegionOfInterestMeta*> rois;
  gpointer state = nullptr;
  while (GstMeta* m = gst_buffer_iterate_meta_filtered(buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(m);
    if (roi->roi_type == g_quark_from_string("anomaly")) rois.push_back(roi);
  }
  std::sort(rois.begin(), rois.end(), [](auto* a, auto* b) { return a->id < b->id; });
  return rois;
}

// A threshold that splits this frame's map: some cells above it, most below.
float splitting_threshold(GstHarness* h) {
  GstBuffer* out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 0);
  const GstAnomalyMeta* m = gst_buffer_get_anomaly_meta(out);
  std::vector<float> values(m->map, m->map + size_t(m->map_width) * m->map_height);
  std::sort(values.begin(), values.end());
  const float threshold = values[values.size() * 97 / 100];
  gst_buffer_unref(out);
  return threshold;
}

GST_START_TEST(defect_regions_as_meta_roi_and_messages) {
  GstHarness* h = detector("min-region-area=1 max-regions=1024 post-messages=all");
  const float threshold = splitting_threshold(h);
  g_object_set(h->element, "threshold", threshold, nullptr);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  GstBuffer* out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 0);
  const GstAnomalyMeta* m = gst_buffer_get_anomaly_meta(out);
  const std::vector<size_t> reference = component_sizes(m, threshold);
  fail_unless(!reference.empty(), "the threshold leaves no region to test with");
  fail_unless_equals_int(m->n_regions, reference.size());
  const double cell = double(m->rect.w) / m->map_width * (double(m->rect.h) / m->map_height);  // frame px per cell
  fail_unless(std::abs(double(m->regions[0].area) - reference[0] * cell) <= 1.0, "largest area %" G_GUINT64_FORMAT,
              m->regions[0].area);
  const std::vector<GstVideoRegionOfInterestMeta*> rois = anomaly_rois(out);
  fail_unless_equals_int(rois.size(), m->n_regions);
  for (guint i = 0; i < m->n_regions; ++i) {
    const GstAnomalyRegion& r = m->regions[i];
    fail_unless(i == 0 || r.area <= m->regions[i - 1].area, "regions not largest first");
    fail_unless(r.peak > threshold && r.mean > threshold && r.peak >= r.mean);
    fail_unless(r.box.x >= m->rect.x && r.box.y >= m->rect.y && r.box.x + r.box.w <= m->rect.x + m->rect.w &&
                r.box.y + r.box.h <= m->rect.y + m->rect.h, "region %u outside the analysed rectangle", i);
    fail_unless(rois[i]->id == gint(i) && rois[i]->x == guint(r.box.x) && rois[i]->y == guint(r.box.y) &&
                rois[i]->w == guint(r.box.w) && rois[i]->h == guint(r.box.h));
    const GstStructure* param = gst_video_region_of_interest_meta_get_param(rois[i], "anomaly");
    fail_unless(param != nullptr);
    const GValue* peak = gst_structure_get_value(param, "peak");
    fail_unless(peak && G_VALUE_HOLDS_FLOAT(peak) && g_value_get_float(peak) == r.peak);
    fail_unless_equals_string(gst_structure_get_string(param, "model-id"), m->model_id);
  }
  guint count = 0;
  bool found = false;
  while (GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure* st = gst_message_get_structure(msg);
    if (gst_structure_has_name(st, "anomaly") && !g_strcmp0(gst_structure_get_string(st, "event"), "frame")) {
      found = gst_structure_get_uint(st, "regions", &count) && gst_structure_has_field(st, "largest-region");
      const GstStructure* largest = gst_value_get_structure(gst_structure_get_value(st, "largest-region"));
      gint width = 0;
      fail_unless(gst_structure_get_int(largest, "width", &width) && width == m->regions[0].box.w);
    }
    gst_message_unref(msg);
  }
  fail_unless(found && count == m->n_regions, "frame message: %u regions", count);
  gst_buffer_unref(out);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}
GST_END_TEST;

// No region without pixels above the threshold, below min-region-area, or with max-regions=0; max-regions keeps
// the largest.
GST_START_TEST(defect_region_limits_n) {
  GstHarness* h = detector("min-region-area=1 max-regions=1024");
  const float threshold = splitting_threshold(h);
  g_object_set(h->element, "threshold", threshold, nullptr);
  GstBuffer* all = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 0);
  const guint64 largest = gst_buffer_get_anomaly_meta(all)->regions[0].area;
  fail_unless(gst_buffer_get_anomaly_meta(all)->n_regions >= 1);
  gst_buffer_unref(all);
  const struct {
    const char* property;
    guint value, expected;
  } limits[] = {{"max-regions", 1, 1}, {"max-regions", 0, 0}, {"min-region-area", 100000000, 0}};
  for (const auto& limit : limits) {
    g_object_set(h->element, limit.property, limit.value, nullptr);
    GstBuffer* out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 0);
    const GstAnomalyMeta* m = gst_buffer_get_anomaly_meta(out);
    fail_unless(m->n_regions == limit.expected && anomaly_rois(out).size() == limit.expected, "%s=%u: %u regions",
                limit.property, limit.value, m->n_regions);
    if (limit.expected == 1) fail_unless(m->regions[0].area == largest, "max-regions=1 must keep the largest");
    gst_buffer_unref(out);
    g_object_set(h->element, "max-regions", 1024u, "min-region-area", 1u, nullptr);
  }
  g_object_set(h->element, "threshold", 1e30f, nullptr);
  GstBuffer* out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 0);
  fail_unless(gst_buffer_get_anomaly_meta(out)->n_regions == 0 && anomaly_rois(out).empty());
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

// anomalyoverlay draws the region boxes (and only with draw-regions).
GST_START_TEST(overlay_draws_region_boxes) {
  for (const gboolean draw : {gboolean(TRUE), gboolean(FALSE)}) {
    GstHarness* h = gst_harness_new_parse(draw ? "anomalyoverlay outline=false show-score=false"
                                               : "anomalyoverlay outline=false show-score=false draw-regions=false");
    gst_harness_set_src_caps_str(h, caps_string(GST_VIDEO_FORMAT_RGB, 160, 120).c_str());
    GstBuffer* in = make_frame(GST_VIDEO_FORMAT_RGB, 160, 120, 0);
    GstBuffer* reference = gst_buffer_copy_deep(in);
    const float map[4] = {0, 0, 0, 0};  // nothing of the heat map is drawn
    const GstVideoRectangle rect{0, 0, 160, 120};
    GstAnomalyMeta* m = gst_buffer_add_anomaly_meta(in, 0.5f, 0.1f, TRUE, map, 2, 2, &rect, "m", 0);
    const GstAnomalyRegion region{{40, 30, 50, 40}, 2000, 0.5f, 0.3f};
    gst_anomaly_meta_set_regions(m, &region, 1);
    GstBuffer* out = gst_harness_push_and_pull(h, in);
    GstMapInfo a, b;
    gst_buffer_map(out, &a, GST_MAP_READ);
    gst_buffer_map(reference, &b, GST_MAP_READ);
    auto changed = [&](int x, int y) { return std::memcmp(a.data + (y * 160 + x) * 3, b.data + (y * 160 + x) * 3, 3) != 0; };
    fail_unless(changed(40, 50) == bool(draw) && changed(65, 30) == bool(draw), "box edge (draw-regions=%d)", draw);
    fail_if(changed(65, 50) || changed(10, 10), "pixels off the box changed");
    gst_buffer_unmap(out, &a);
    gst_buffer_unmap(reference, &b);
    gst_buffer_unref(out);
    gst_buffer_unref(reference);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

GST_START_TEST(state_cycles) {
  GstHarness* h = detector("");
  for (int cycle = 0; cycle < 3; ++cycle) {
    GstBuffer* out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, guint(cycle));
    fail_unless(gst_buffer_get_anomaly_meta(out) != nullptr);
    fail_unless_equals_int(gst_buffer_get_anomaly_meta(out)->frame_number, 0);  // restarted
    gst_buffer_unref(out);
    fail_unless_equals_int(gst_element_set_state(h->element, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    fail_unless_equals_int(gst_element_set_state(h->element, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
    gst_harness_set_src_caps_str(h, caps_string(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(model_swaps_while_playing) {
  GstHarness* h = detector("");
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  guint index = 0;
  std::string first_id, second_id;
  stream_until(h, index, [&](GstAnomalyMeta* meta) { first_id = meta->model_id; return true; });
  // A new model loads in the background; frames keep flowing with the old one until it takes over.
  g_object_set(h->element, "model-file", other_model_path.c_str(), nullptr);
  stream_until(h, index, [&](GstAnomalyMeta* meta) { second_id = meta->model_id; return second_id != first_id; });
  fail_unless(second_id != first_id, "the new model never took over");
  gchar* id = nullptr;
  g_object_get(h->element, "model-id", &id, nullptr);
  fail_unless_equals_string(id, second_id.c_str());
  g_free(id);
  const std::vector<std::string> updates = model_updates(bus);
  fail_unless(updates.size() == 1 && updates[0] == "success:" + second_id, "updates: %zu", updates.size());
  // Swap back and forth under a steady stream: every buffer comes out analysed.
  for (int swap = 0; swap < 6; ++swap) {
    g_object_set(h->element, "model-file", (swap % 2 ? other_model_path : model_path).c_str(), nullptr);
    for (int frame = 0; frame < 3; ++frame) gst_buffer_unref(push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, index++));
  }
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);  // joins loaders that are still running
}
GST_END_TEST;

// Two models load while no frame flows: the first never runs, and says so; the second takes over at the next frame.
GST_START_TEST(model_waiting_for_a_frame_is_superseded_with_a_message) {
  GstHarness* h = detector("");
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_buffer_unref(push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 0));
  const std::string copy = folder + "/copy.efad";
  test::write_bytes(copy, test::read_bytes(model_path));
  g_object_set(h->element, "model-file", copy.c_str(), nullptr);
  g_usleep(5 * G_USEC_PER_SEC);  // loading takes about a second; no frame arrives to take it
  g_object_set(h->element, "model-file", other_model_path.c_str(), nullptr);
  g_usleep(5 * G_USEC_PER_SEC);
  GstBuffer* out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 1);
  gchar* other_id = nullptr;
  g_object_get(h->element, "model-id", &other_id, nullptr);
  fail_unless_equals_string(gst_buffer_get_anomaly_meta(out)->model_id, other_id);
  gst_buffer_unref(out);
  const std::vector<std::string> updates = model_updates(bus);
  fail_unless_equals_int(updates.size(), 2);
  fail_unless_equals_string(updates[0].c_str(), "failure:superseded by a later model-file");
  const std::string expected = std::string("success:") + other_id;
  fail_unless_equals_string(updates[1].c_str(), expected.c_str());
  g_free(other_id);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(bad_model_swap_keeps_the_old_model_n) {
  GstHarness* h = detector("");
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  guint index = 0;
  std::string id_before;
  stream_until(h, index, [&](GstAnomalyMeta* meta) { id_before = meta->model_id; return true; });
  const std::string corrupt = folder + "/corrupt.efad";
  std::vector<uint8_t> bytes = test::read_bytes(model_path);
  bytes.resize(bytes.size() / 2);
  test::write_bytes(corrupt, bytes);
  for (const std::string& bad : {corrupt, folder + "/missing.efad"}) {
    g_object_set(h->element, "model-file", bad.c_str(), nullptr);
    std::vector<std::string> updates;
    stream_until(h, index, [&](GstAnomalyMeta* meta) {
      fail_unless_equals_string(meta->model_id, id_before.c_str());
      for (const auto& u : model_updates(bus)) updates.push_back(u);
      return !updates.empty();
    });
    fail_unless(updates.size() == 1 && updates[0].rfind("failure:", 0) == 0, "no failure reported for %s", bad.c_str());
  }
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(no_model_fails_start_n) {
  expect_start_error("", "No model file set");
  expect_start_error("model-file=" + folder + "/absent.efad", "model file not found");
}
GST_END_TEST;

GST_START_TEST(corrupt_and_wrong_kind_models_n) {
  auto bytes = test::read_bytes(model_path);
  bytes.resize(bytes.size() / 3);
  test::write_bytes(folder + "/truncated.efad", bytes);
  expect_start_error("model-file=" + folder + "/truncated.efad", "truncated");
  test::write_bytes(folder + "/garbage.efad", {'P', 'K', 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  expect_start_error("model-file=" + folder + "/garbage.efad", "not a gst-efficientad model file");
  expect_start_error("model-file=" + folder, "is a folder");
}
GST_END_TEST;

GST_START_TEST(cuda_on_a_cpu_build_n) {
  std::string text;
  const GstStateChangeReturn result = start_alone("model-file=" + model_path + " device=cuda", &text);
  if (result == GST_STATE_CHANGE_FAILURE) {
    fail_unless(text.find("no usable CUDA device") != std::string::npos, "error: %s", text.c_str());
  }  // else: a CUDA build on a GPU machine, where device=cuda is valid
}
GST_END_TEST;

GST_START_TEST(tiny_and_huge_frames_n) {
  for (auto [format, w, hgt] : {std::tuple{GST_VIDEO_FORMAT_RGB, 1, 1}, std::tuple{GST_VIDEO_FORMAT_I420, 1, 1},
                                std::tuple{GST_VIDEO_FORMAT_GRAY8, 7680, 4320}, std::tuple{GST_VIDEO_FORMAT_NV12, 3840, 2160}}) {
    GstHarness* h = detector("", format, w, hgt);
    GstBuffer* out = push_pull(h, format, w, hgt, 0);
    GstAnomalyMeta* meta = gst_buffer_get_anomaly_meta(out);
    fail_unless(meta != nullptr && meta->rect.w == w && meta->rect.h == hgt && std::isfinite(meta->score));
    gst_buffer_unref(out);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

GST_START_TEST(empty_and_short_buffers_pass_n) {
  GstHarness* h = detector("");
  fail_unless_equals_int(gst_harness_push(h, gst_buffer_new()), GST_FLOW_OK);  // zero-size (e.g. a gap)
  GstBuffer* out = gst_harness_pull(h);
  fail_unless(gst_buffer_get_size(out) == 0 && gst_buffer_get_anomaly_meta(out) == nullptr);
  gst_buffer_unref(out);
  fail_unless_equals_int(gst_harness_push(h, gst_buffer_new_allocate(nullptr, 100, nullptr)), GST_FLOW_OK);
  out = gst_harness_pull(h);
  fail_unless(gst_buffer_get_anomaly_meta(out) == nullptr);
  gst_buffer_unref(out);
  // A valid frame afterwards is analysed as usual.
  out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 3);
  fail_unless(gst_buffer_get_anomaly_meta(out) != nullptr);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(bad_roi_values_n) {
  GstHarness* h = detector("roi=10,10,50,50");
  for (const char* bad : {"10,10", "a,b,c,d", "10,10,0,5", "-1,0,5,5", "1,2,3,4,5", "0,0,99999999999,5",
                          "0,0,2147483647,2147483647", "1,2,3,4x"}) {
    g_object_set(h->element, "roi", bad, nullptr);
    gchar* now = nullptr;
    g_object_get(h->element, "roi", &now, nullptr);
    fail_unless_equals_string(now, "10,10,50,50");  // ignored, with a warning in the log
    g_free(now);
  }
  // Set before start, an unusable roi fails the start with a message instead of silently inspecting whole frames.
  expect_start_error("roi=1,2,3", "The roi '1,2,3' is not");
  // A region entirely outside the frame: the whole frame is analysed and the user is warned once.
  g_object_set(h->element, "roi", "1000,1000,10,10", nullptr);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  GstBuffer* out = push_pull(h, GST_VIDEO_FORMAT_RGB, 320, 240, 0);
  fail_unless_equals_int(gst_buffer_get_anomaly_meta(out)->rect.w, 320);
  gst_buffer_unref(out);
  GstMessage* warning = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
  fail_unless(warning != nullptr);
  gst_message_unref(warning);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(overlay_ignores_unusable_meta_n) {
  GstHarness* h = gst_harness_new("anomalyoverlay");
  gst_harness_set_src_caps_str(h, caps_string(GST_VIDEO_FORMAT_RGB, 64, 48).c_str());
  GstBuffer* in = make_frame(GST_VIDEO_FORMAT_RGB, 64, 48, 0);
  GstBuffer* reference = gst_buffer_copy_deep(in);
  const GstVideoRectangle outside{500, 500, 10, 10};
  const float map[1] = {5.0f};
  gst_buffer_add_anomaly_meta(in, 5.0f, 0.1f, TRUE, map, 1, 1, &outside, "m", 0);  // nowhere on this frame
  fail_unless_equals_int(gst_harness_push(h, in), GST_FLOW_OK);
  GstBuffer* out = gst_harness_pull(h);
  GstMapInfo a, b;
  gst_buffer_map(out, &a, GST_MAP_READ);
  gst_buffer_map(reference, &b, GST_MAP_READ);
  fail_unless(std::memcmp(a.data, b.data, a.size) == 0);
  gst_buffer_unmap(out, &a);
  gst_buffer_unmap(reference, &b);
  gst_buffer_unref(out);
  gst_buffer_unref(reference);
  gst_harness_teardown(h);
}
GST_END_TEST;


int main(int argc, char** argv) {
  gst_check_init(&argc, &argv);
  folder = test::temp_folder("gst");
  model_path = folder + "/model.efad";
  test::write_random_model(model_path, efficientad::ModelGeometry{});
  other_model_path = folder + "/other.efad";
  test::write_random_model(other_model_path, efficientad::ModelGeometry{}, 2);
  // One process: LibTorch's OpenMP pool (used by the fixtures) does not survive fork().
  return test::run_cases("gst_elements", {
      {"positive", TESTS(meta_has_map_rect_and_model, every_format_gets_meta, caps_change_mid_stream, roi_sets_the_rectangle,
                         inference_interval_skips_frames, threshold_changes_while_playing,
                         calibrated_threshold_follows_the_mode, messages_at_edges_with_hysteresis,
                         overlay_draws_only_where_the_map_is_high, detector_then_overlay,
                         meta_copies_and_scales_with_the_frame, state_cycles, model_swaps_while_playing,
                         model_waiting_for_a_frame_is_superseded_with_a_message,
                         defect_regions_as_meta_roi_and_messages, overlay_draws_region_boxes), 600},
      {"negative", TESTS(no_model_fails_start_n, corrupt_and_wrong_kind_models_n, cuda_on_a_cpu_build_n,
                         tiny_and_huge_frames_n, empty_and_short_buffers_pass_n, bad_roi_values_n,
                         overlay_ignores_unusable_meta_n, bad_model_swap_keeps_the_old_model_n,
                         defect_region_limits_n), 600},
  }, test::Fork::None);
}
