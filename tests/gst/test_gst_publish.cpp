// anomalypublish in real pipelines: efficientad results to a real mosquitto broker and a JSON-lines file, the
// broker killed and restarted mid-stream, and the settings that must fail the start.
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "broker.h"
#include "json.h"
#include "fixtures.h"
#include "gst_frames.h"
#include "meta/gstanomalymeta.h"

// GstCheck's header defines a `fail` macro that breaks standard headers included after it.
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#undef fail

#include "check_main.h"

using test::make_frame;

namespace {

std::string folder, model_path;

// efficientad followed by anomalypublish with `options`, with RGB 320x240 input caps.
GstHarness* pipeline(const std::string& options) {
  GstHarness* h = gst_harness_new_parse(("efficientad model-file=" + model_path + " threads=1 ! anomalypublish " +
                                         options).c_str());
  gst_harness_set_src_caps_str(h, test::caps_string(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
  return h;
}

// Pushes frames first..first+count-1; returns the longest push-and-pull in ms (the stream must never stall).
double push_frames(GstHarness* h, guint first, guint count) {
  double slowest = 0;
  for (guint i = first; i < first + count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fail_unless_equals_int(gst_harness_push(h, make_frame(GST_VIDEO_FORMAT_RGB, 320, 240, i, guint8(i))), GST_FLOW_OK);
    gst_buffer_unref(gst_harness_pull(h));
    slowest = std::max(slowest, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return slowest;
}

guint64 property(GstHarness* h, const char* name) {
  GstElement* publish = gst_harness_find_element(h, "anomalypublish");
  guint64 value = 0;
  g_object_get(publish, name, &value, nullptr);
  gst_object_unref(publish);
  return value;
}

}  // namespace

GST_START_TEST(every_frame_reaches_the_broker_and_the_file_in_order) {
  test::Broker broker;
  test::Subscriber subscriber(broker.port(), "efficientad/#");
  const std::string log = test::temp_folder("publish") + "/cam7.jsonl";
  GstHarness* h = pipeline("source-id=cam7 mqtt-host=127.0.0.1 mqtt-qos=1 mqtt-port=" +
                           std::to_string(broker.port()) + " file-path=" + log);
  push_frames(h, 0, 200);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));  // waits for the queues to drain
  fail_unless_equals_int(subscriber.wait_for(200, 30), 200);
  const std::vector<std::string> got = subscriber.payloads();
  for (size_t i = 0; i < got.size(); ++i) {
    const auto v = test::parse_json(got[i]);
    fail_unless(v.at("frame").num() == double(i) && v.at("source").str() == "cam7" && v.at("event").str() != "",
                "record %zu: %s", i, got[i].c_str());
  }
  const std::vector<std::string> lines = test::read_lines(log);
  fail_unless_equals_int(lines.size(), 200);
  for (size_t i = 0; i < lines.size(); ++i) fail_unless(test::parse_json(lines[i]).at("frame").num() == double(i));
  fail_unless_equals_int(property(h, "published"), 200);
  fail_unless_equals_int(property(h, "dropped"), 0);
  gst_harness_teardown(h);
}
GST_END_TEST;

// The broker killed mid-run and restarted: frames never wait for it, records resume, drops are counted.
GST_START_TEST(broker_restart_never_stalls_the_stream_n) {
  test::Broker broker;
  test::Subscriber subscriber(broker.port(), "efficientad/#");
  GstHarness* h = pipeline("queue-size=10 mqtt-host=127.0.0.1 mqtt-port=" + std::to_string(broker.port()));
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  const double normal_ms = push_frames(h, 0, 20);
  fail_unless(subscriber.wait_for(20, 20) == 20);
  broker.kill_now();
  const double away_ms = push_frames(h, 20, 60);
  fail_unless(away_ms < normal_ms + 1000, "a frame waited %.0f ms while the broker was away (%.0f normally)", away_ms,
              normal_ms);
  GstMessage* warning = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
  fail_unless(warning != nullptr, "the outage was not reported");
  gst_message_unref(warning);
  broker.start();
  push_frames(h, 80, 20);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  for (int i = 0; i < 300; ++i) {
    const auto got = subscriber.payloads();
    if (!got.empty() && test::parse_json(got.back()).at("frame").num() == 99) break;
    g_usleep(100000);
  }
  const std::vector<std::string> got = subscriber.payloads();
  fail_unless(test::parse_json(got.back()).at("frame").num() == 99, "delivery did not resume");
  fail_unless(property(h, "dropped") >= 40, "%" G_GUINT64_FORMAT " dropped of 60 with a queue of 10",
              property(h, "dropped"));
  for (size_t i = 1; i < got.size(); ++i) {  // in order (QoS 0 here: nothing is sent twice)
    fail_unless(test::parse_json(got[i]).at("frame").num() > test::parse_json(got[i - 1]).at("frame").num());
  }
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}
GST_END_TEST;

// when=edges publishes the alarm's begin and end only; crop adds a PNG of the largest region.
GST_START_TEST(edges_and_crops) {
  const std::string log = test::temp_folder("publish") + "/edges.jsonl";
  GstHarness* h = pipeline("when=edges crop=true file-path=" + log);
  GstElement* detector = gst_harness_find_element(h, "efficientad");
  g_object_set(detector, "threshold", 0.0f, "alarm-off-frames", 1u, "min-region-area", 1u, nullptr);
  push_frames(h, 0, 3);                                  // anomalous: begin
  g_object_set(detector, "threshold", 1e30f, nullptr);
  push_frames(h, 3, 3);                                  // normal: end
  g_object_set(detector, "threshold", 0.0f, nullptr);
  push_frames(h, 6, 2);                                  // begin again, ended by EOS
  gst_object_unref(detector);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  const std::vector<std::string> lines = test::read_lines(log);
  fail_unless_equals_int(lines.size(), 4);
  const char* events[] = {"begin", "end", "begin", "end"};
  for (size_t i = 0; i < 4; ++i) fail_unless(test::parse_json(lines[i]).at("event").str() == events[i], "%s", lines[i].c_str());
  const auto begin = test::parse_json(lines[0]);
  fail_unless(begin.at("crop_png_base64").str().rfind("iVBORw0KGgo", 0) == 0, "no PNG crop");
  gst_harness_teardown(h);
}
GST_END_TEST;

// Unusable settings fail the start with an error that says what to fix.
GST_START_TEST(bad_settings_fail_the_start_n) {
  const struct {
    std::string options;
    const char* needle;
  } cases[] = {
      {"", "Nothing to publish to"},
      {"mqtt-host=127.0.0.1 mqtt-topic=a/#", "wildcards"},
      {"mqtt-host=no-such-broker.invalid", "cannot resolve the MQTT broker host"},
      {"mqtt-host=127.0.0.1 mqtt-tls-ca-file=/nonexistent/ca.pem", "TLS"},
      {"file-path=/nonexistent-dir/log.jsonl", "/nonexistent-dir/log.jsonl"},
  };
  for (const auto& c : cases) {
    GstElement* element = gst_parse_bin_from_description(("anomalypublish " + c.options).c_str(), FALSE, nullptr);
    GstBus* bus = gst_bus_new();
    gst_element_set_bus(element, bus);
    fail_unless_equals_int(gst_element_set_state(element, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
    GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    fail_unless(message != nullptr, "%s: no error", c.options.c_str());
    GError* error = nullptr;
    gst_message_parse_error(message, &error, nullptr);
    fail_unless(std::string(error->message).find(c.needle) != std::string::npos, "%s: '%s'", c.options.c_str(),
                error->message);
    g_error_free(error);
    gst_message_unref(message);
    gst_element_set_state(element, GST_STATE_NULL);
    gst_element_set_bus(element, nullptr);
    gst_object_unref(bus);
    gst_object_unref(element);
  }
}
GST_END_TEST;

int main(int argc, char** argv) {
  gst_check_init(&argc, &argv);
  folder = test::temp_folder("gst-publish");
  model_path = folder + "/model.efad";
  test::write_random_model(model_path, efficientad::ModelGeometry{});
  // One process: LibTorch's OpenMP pool (used by the fixture) does not survive fork().
  return test::run_cases("anomalypublish", {
      {"positive", TESTS(every_frame_reaches_the_broker_and_the_file_in_order, edges_and_crops), 300},
      {"negative", TESTS(broker_restart_never_stalls_the_stream_n, bad_settings_fail_the_start_n), 300},
  }, test::Fork::None);
}
