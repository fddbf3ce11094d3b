// The elements' GStreamer-free logic: the live model swap (efficientad), the capture rules (efficientadtrain) and
// the alarm hysteresis, each driven directly, with real model files and real detectors.
#include "check_compat.h"

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alarmstate.h"
#include "broker.h"
#include "capturepolicy.h"
#include "json.h"
#include "efficientad/errors.h"
#include "jsonlinesfile.h"
#include "modelswap.h"
#include "mqttsink.h"
#include "resultrecord.h"
#include "test_helpers.h"

using efficientad::Detector;
using efficientad::DetectorOptions;
using efficientad::gst::AlarmState;
using efficientad::gst::CapturePolicy;
using efficientad::gst::CaptureRules;
using efficientad::gst::ModelSwap;

namespace {

std::string folder, model_a, model_b, model_c;

void make_models() {
  folder = test::temp_folder("element-logic");
  model_a = folder + "/a.efad";
  model_b = folder + "/b.efad";
  model_c = folder + "/c.efad";
  test::write_random_model(model_a, efficientad::ModelGeometry{}, 1);
  test::write_random_model(model_b, efficientad::ModelGeometry{}, 2);
  test::write_random_model(model_c, efficientad::ModelGeometry{}, 3);
}

std::string id_of(const std::string& path) { return efficientad::read_model_info(path).model_id; }

// A loader that counts its calls and, while the gate is closed, blocks before loading.
class GatedLoader {
 public:
  std::unique_ptr<Detector> operator()(const std::string& path) {
    std::unique_lock<std::mutex> lock(mutex_);
    calls_++;
    started_.notify_all();
    open_.wait(lock, [this] { return gate_open_; });
    lock.unlock();
    return std::make_unique<Detector>(path, DetectorOptions{efficientad::Device::Cpu, efficientad::Mode::Fast, 1});
  }
  void close() { std::lock_guard<std::mutex> l(mutex_); gate_open_ = false; }
  void open() {
    { std::lock_guard<std::mutex> l(mutex_); gate_open_ = true; }
    open_.notify_all();
  }
  void wait_for_calls(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    ck_assert_msg(started_.wait_for(lock, std::chrono::seconds(30), [&] { return calls_ >= n; }), "loader not called");
  }
  int calls() { std::lock_guard<std::mutex> l(mutex_); return calls_; }

 private:
  std::mutex mutex_;
  std::condition_variable started_, open_;
  bool gate_open_ = true;
  int calls_ = 0;
};

struct Refusal {
  std::string path, error;
  bool load_failed;
};

// Collects refusals from any thread.
class Refusals {
 public:
  void add(const std::string& path, const std::string& error, bool load_failed) {
    std::lock_guard<std::mutex> l(mutex_);
    list_.push_back({path, error, load_failed});
  }
  std::vector<Refusal> list() { std::lock_guard<std::mutex> l(mutex_); return list_; }

 private:
  std::mutex mutex_;
  std::vector<Refusal> list_;
};


bool wait_loaded(const ModelSwap& swap) {
  for (int i = 0; i < 600 && !swap.has_loaded(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return swap.has_loaded();
}

}  // namespace

// A ModelSwap with a gated loader and the refusals it reports (members in construction order).
struct SwapUnderTest {
  GatedLoader loader;
  Refusals refusals;
  ModelSwap swap{[this](const std::string& p) { return loader(p); },
                 [this](const std::string& p, const std::string& e, bool f) { refusals.add(p, e, f); }};
};

START_TEST(swap_loads_the_requested_model) {
  SwapUnderTest t;
  auto& [loader, refusals, swap] = t;
  ck_assert(!swap.has_loaded());
  swap.request(model_b);
  ck_assert(wait_loaded(swap));
  std::string path;
  std::unique_ptr<Detector> d = swap.take_loaded(&path);
  ck_assert(d != nullptr);
  ck_assert_str_eq(path.c_str(), model_b.c_str());
  ck_assert(d->info().model_id == id_of(model_b));
  ck_assert(!swap.has_loaded());
  ck_assert(swap.take_loaded(&path) == nullptr);
  ck_assert_int_eq(int(refusals.list().size()), 0);
}
END_TEST

// A request queued behind a running load is superseded at once by a newer one; the running load, overtaken,
// is superseded when it ends; only the newest model comes out.
START_TEST(newest_request_wins) {
  SwapUnderTest t;
  auto& [loader, refusals, swap] = t;
  loader.close();
  swap.request(model_a);
  loader.wait_for_calls(1);
  swap.request(model_b);
  swap.request(model_c);
  std::vector<Refusal> r = refusals.list();
  ck_assert_int_eq(int(r.size()), 1);
  ck_assert_str_eq(r[0].path.c_str(), model_b.c_str());
  ck_assert_str_eq(r[0].error.c_str(), ModelSwap::kSuperseded);
  ck_assert(!r[0].load_failed);
  loader.open();
  ck_assert(wait_loaded(swap));
  std::string path;
  ck_assert(swap.take_loaded(&path)->info().model_id == id_of(model_c));
  r = refusals.list();
  ck_assert_int_eq(int(r.size()), 2);
  ck_assert_str_eq(r[1].path.c_str(), model_a.c_str());
  ck_assert_int_eq(loader.calls(), 2);
}
END_TEST

// 40 quick requests while a load runs: two loads in all (the running one and the newest), never one per request.
START_TEST(burst_of_requests_loads_at_most_two_n) {
  SwapUnderTest t;
  auto& [loader, refusals, swap] = t;
  loader.close();
  swap.request(model_a);
  loader.wait_for_calls(1);
  for (int i = 0; i < 40; ++i) swap.request(i % 2 ? model_b : model_c);
  loader.open();
  ck_assert(wait_loaded(swap));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ck_assert_int_eq(loader.calls(), 2);
  std::string path;
  ck_assert(swap.take_loaded(&path)->info().model_id == id_of(model_b));
  ck_assert_int_eq(int(refusals.list().size()), 40);  // 39 queued ones and the overtaken first load
}
END_TEST

START_TEST(bad_file_is_refused_with_its_error_n) {
  SwapUnderTest t;
  auto& [loader, refusals, swap] = t;
  const std::string missing = folder + "/missing.efad";
  swap.request(missing);
  for (int i = 0; i < 200 && refusals.list().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::vector<Refusal> r = refusals.list();
  ck_assert_int_eq(int(r.size()), 1);
  ck_assert_str_eq(r[0].path.c_str(), missing.c_str());
  ck_assert(r[0].load_failed);
  ck_assert_msg(r[0].error.find("not found") != std::string::npos, "error: %s", r[0].error.c_str());
  ck_assert(!swap.has_loaded());
}
END_TEST

// A loaded model the streaming thread never took is replaced by the next one, and told so.
START_TEST(untaken_model_is_superseded_n) {
  SwapUnderTest t;
  auto& [loader, refusals, swap] = t;
  swap.request(model_a);
  ck_assert(wait_loaded(swap));
  swap.request(model_b);
  for (int i = 0; i < 600 && refusals.list().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::vector<Refusal> r = refusals.list();
  ck_assert_int_eq(int(r.size()), 1);
  ck_assert_str_eq(r[0].path.c_str(), model_a.c_str());
  ck_assert_str_eq(r[0].error.c_str(), ModelSwap::kSuperseded);
  std::string path;
  ck_assert(swap.take_loaded(&path)->info().model_id == id_of(model_b));
}
END_TEST

// stop() waits for the running load, drops the queued request without a message, and ignores later requests.
START_TEST(stop_drops_requests_silently_n) {
  SwapUnderTest t;
  auto& [loader, refusals, swap] = t;
  loader.close();
  swap.request(model_a);
  loader.wait_for_calls(1);
  swap.request(model_b);
  std::thread opener([&t] {  // C++17 lambdas cannot capture structured bindings
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    t.loader.open();
  });
  swap.stop();
  opener.join();
  swap.request(model_c);
  ck_assert(!swap.has_loaded());
  ck_assert_int_eq(loader.calls(), 1);
  ck_assert_int_eq(int(refusals.list().size()), 0);
  swap.stop();  // idempotent
}
END_TEST

START_TEST(capture_interval_and_min_gap) {
  CaptureRules rules;
  rules.interval = 3;
  CapturePolicy every_third(0, 1);
  std::vector<int> considered;
  for (int frame = 0; frame < 10; ++frame) {
    if (every_third.considers(rules, CapturePolicy::kNoTime)) considered.push_back(frame);
  }
  ck_assert(considered == std::vector<int>({0, 3, 6, 9}));

  rules.interval = 1;
  rules.min_gap_ns = 100;
  CapturePolicy gap(0, 1);
  ck_assert(gap.considers(rules, 0));
  gap.record(test::textured_image(32, 32, 1), 0);
  ck_assert(!gap.considers(rules, 99));
  ck_assert(gap.considers(rules, 100));
}
END_TEST

START_TEST(capture_skips_near_duplicates) {
  CaptureRules rules;
  CapturePolicy policy(0, 1);
  const efficientad::Image frame = test::textured_image(64, 48, 1);
  const efficientad::Image other = test::textured_image(64, 48, 2);
  const efficientad::Image thumb = CapturePolicy::thumbnail(frame.view());
  ck_assert_int_eq(thumb.width(), CapturePolicy::kThumbnailSide);
  ck_assert(!policy.repeats_last(rules, thumb));  // nothing captured yet
  policy.record(thumb, CapturePolicy::kNoTime);
  ck_assert(policy.repeats_last(rules, CapturePolicy::thumbnail(frame.view())));
  ck_assert(!policy.repeats_last(rules, CapturePolicy::thumbnail(other.view())));
  rules.duplicate_threshold = 0;  // keeps every frame
  ck_assert(!policy.repeats_last(rules, CapturePolicy::thumbnail(frame.view())));
}
END_TEST

START_TEST(capture_resumes_numbering_until_max_frames) {
  CaptureRules rules;
  rules.max_frames = 7;
  CapturePolicy policy(5, 9);
  ck_assert(policy.record(test::textured_image(32, 32, 1), 0) == "frame-000009.png");
  ck_assert(!policy.done(rules));
  ck_assert(policy.considers(rules, CapturePolicy::kNoTime));
  ck_assert(policy.record(test::textured_image(32, 32, 2), 1) == "frame-000010.png");
  ck_assert_int_eq(policy.captured(), 7);
  ck_assert(policy.done(rules));
  ck_assert(!policy.considers(rules, CapturePolicy::kNoTime));
}
END_TEST

// Frames without a running time (no PTS) never wait for min-gap, whatever came before.
START_TEST(capture_unknown_times_never_block_n) {
  CaptureRules rules;
  rules.min_gap_ns = 1000000000;
  CapturePolicy policy(0, 1);
  policy.record(test::textured_image(32, 32, 1), 5);
  ck_assert(policy.considers(rules, CapturePolicy::kNoTime));
  policy.record(test::textured_image(32, 32, 2), CapturePolicy::kNoTime);
  ck_assert(policy.considers(rules, 6));
}
END_TEST

START_TEST(capture_finished_takes_nothing_more_n) {
  CaptureRules rules;
  CapturePolicy policy(0, 1);
  policy.finish();  // a write failed
  ck_assert(policy.done(rules));
  for (int i = 0; i < 5; ++i) ck_assert(!policy.considers(rules, CapturePolicy::kNoTime));
  ck_assert_int_eq(policy.captured(), 0);
}
END_TEST

START_TEST(alarm_hysteresis) {
  using Edge = AlarmState::Edge;
  AlarmState alarm;
  const bool frames[] = {true, false, true, true, true, false, false, true, false, false, false};
  std::vector<Edge> edges;
  for (bool anomalous : frames) edges.push_back(alarm.update(anomalous, 2, 3));
  const std::vector<Edge> expected = {Edge::None, Edge::None, Edge::None, Edge::Begin, Edge::None, Edge::None,
                                      Edge::None, Edge::None, Edge::None, Edge::None, Edge::End};
  ck_assert(edges == expected);
  ck_assert(!alarm.active());
}
END_TEST

START_TEST(alarm_ends_with_the_stream) {
  AlarmState alarm;
  ck_assert(alarm.update(true, 1, 3) == AlarmState::Edge::Begin);
  ck_assert(alarm.end_of_stream() == AlarmState::Edge::End);
  ck_assert(!alarm.active());
  ck_assert(alarm.update(true, 1, 3) == AlarmState::Edge::Begin);  // a new stream starts afresh
}
END_TEST

START_TEST(alarm_idle_stream_end_is_silent_n) {
  AlarmState alarm;
  ck_assert(alarm.end_of_stream() == AlarmState::Edge::None);
  ck_assert(alarm.update(false, 1, 1) == AlarmState::Edge::None);  // normal frames never end a missing alarm
  ck_assert(alarm.end_of_stream() == AlarmState::Edge::None);
}
END_TEST

START_TEST(record_json_escapes_and_nulls) {
  efficientad::gst::ResultRecord r;
  r.source = "line \"1\"\\cam\x01\xff";  // quotes, a backslash, a control byte, a byte that is no UTF-8
  r.event = "begin";
  r.wall_time_ms = 1764648306789;
  r.frame = 42;
  r.score = 0.25f;
  r.threshold = NAN;
  r.anomalous = r.alarm = true;
  r.model_id = "0123abcd";
  r.regions.push_back({10, 20, 30, 40, 1200, 0.5f, 0.3f});
  r.crop_png = std::string("\x89PNG", 4);
  const std::string json = efficientad::gst::to_json(r);
  ck_assert_msg(json.find('\n') == std::string::npos, "%s", json.c_str());
  const auto v = test::parse_json(json);
  ck_assert(v.at("source").str() == "line \"1\"\\cam\x01\xef\xbf\xbd");
  ck_assert(v.at("event").str() == "begin" && v.at("frame").num() == 42 && v.at("score").num() == 0.25);
  ck_assert(v.at("threshold").kind == efficientad::detail::JsValue::Kind::Null);
  ck_assert(v.at("stream_time_ns").kind == efficientad::detail::JsValue::Kind::Null);
  ck_assert(v.at("wall_time").str() == "2025-12-02T04:05:06.789Z");
  ck_assert(v.at("anomalous").boolean && v.at("alarm").boolean);
  ck_assert(v.at("regions").list().size() == 1 && v.at("regions").list()[0].at("area").num() == 1200);
  ck_assert(v.at("crop_png_base64").str() == "iVBORw==");
}
END_TEST

START_TEST(log_rotates_by_size_and_keeps_whole_lines) {
  const std::string path = test::temp_folder("jsonl") + "/results.jsonl";
  {
    efficientad::gst::JsonLinesFile log(path, 400, 2);
    for (int i = 0; i < 30; ++i) log.append("{\"frame\":" + std::to_string(i) + ",\"pad\":\"" + std::string(40, 'x') + "\"}");
  }
  ck_assert(std::filesystem::exists(path + ".1") && std::filesystem::exists(path + ".2"));
  ck_assert(!std::filesystem::exists(path + ".3"));
  std::vector<int> frames;
  for (const std::string& file : {path + ".2", path + ".1", path}) {
    ck_assert_msg(std::filesystem::file_size(file) <= 400, "%s grew past the limit", file.c_str());
    for (const std::string& line : test::read_lines(file)) frames.push_back(int(test::parse_json(line).at("frame").num()));
  }
  for (size_t i = 1; i < frames.size(); ++i) ck_assert_int_eq(frames[i], frames[i - 1] + 1);  // oldest first
  ck_assert_int_eq(frames.back(), 29);
}
END_TEST

// A crash or power loss can cut the last line; opening the log again removes the torn part before appending.
START_TEST(torn_last_line_is_cut_n) {
  const std::string path = test::temp_folder("jsonl") + "/torn.jsonl";
  std::ofstream(path) << "{\"frame\":1}\n{\"frame\":2}\n{\"fra";
  {
    efficientad::gst::JsonLinesFile log(path, 1 << 20, 1);
    ck_assert_int_eq(int(log.repaired_bytes()), 5);  // {"fra
    log.append("{\"frame\":3}");
  }
  const std::vector<std::string> lines = test::read_lines(path);
  ck_assert_int_eq(int(lines.size()), 3);
  for (const auto& line : lines) test::parse_json(line);  // each whole
  test::expect_throw<efficientad::IoError>([] { efficientad::gst::JsonLinesFile("/nonexistent-dir/x.jsonl", 1000, 1); },
                                           "/nonexistent-dir/x.jsonl");
}
END_TEST

efficientad::gst::MqttSettings local_broker(int port, size_t queue_size = 1000) {
  efficientad::gst::MqttSettings s;
  s.host = "127.0.0.1";
  s.port = port;
  s.topic = "efficientad/test/results";
  s.qos = 1;
  s.queue_size = queue_size;
  return s;
}

START_TEST(mqtt_delivers_every_record_in_order) {
  test::Broker broker;
  test::Subscriber subscriber(broker.port(), "efficientad/#");
  ck_assert(subscriber.subscribed());
  efficientad::gst::MqttSink sink(local_broker(broker.port()), nullptr);
  for (int i = 0; i < 200; ++i) sink.publish("{\"n\":" + std::to_string(i) + "}");
  ck_assert(sink.drain(std::chrono::seconds(20)));
  ck_assert_int_eq(int(subscriber.wait_for(200, 20)), 200);
  const std::vector<std::string> got = subscriber.payloads();
  for (int i = 0; i < 200; ++i) ck_assert_int_eq(int(test::parse_json(got[size_t(i)]).at("n").num()), i);
  ck_assert_int_eq(int(sink.published()), 200);
  ck_assert_int_eq(int(sink.dropped()), 0);
}
END_TEST

// The broker killed mid-run and restarted: publish() never blocks, the outage is reported once, the oldest
// records beyond the queue are dropped and counted, and delivery resumes in order.
START_TEST(mqtt_broker_away_never_blocks_n) {
  test::Broker broker;
  test::Subscriber subscriber(broker.port(), "efficientad/#");
  std::atomic<int> outages{0};
  efficientad::gst::MqttSink sink(local_broker(broker.port(), 20), [&](const std::string&) { outages++; });
  for (int i = 0; i < 10; ++i) sink.publish("{\"n\":" + std::to_string(i) + "}");
  ck_assert_int_eq(int(subscriber.wait_for(10, 10)), 10);
  broker.kill_now();
  double slowest_ms = 0;
  for (int i = 10; i < 110; ++i) {
    const auto start = std::chrono::steady_clock::now();
    sink.publish("{\"n\":" + std::to_string(i) + "}");
    slowest_ms = std::max(slowest_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ck_assert_msg(slowest_ms < 50, "publish() took %.1f ms with the broker away", slowest_ms);
  ck_assert_int_eq(outages.load(), 1);
  ck_assert_uint_ge(sink.dropped(), 70);  // 100 records into a queue of 20 (a few may have gone out first)
  broker.start();
  ck_assert_msg(sink.drain(std::chrono::seconds(40)), "queued records were not delivered after the restart");
  for (int i = 110; i < 115; ++i) sink.publish("{\"n\":" + std::to_string(i) + "}");
  ck_assert(sink.drain(std::chrono::seconds(10)));
  for (int i = 0; i < 100 && (subscriber.payloads().empty() ||
                              test::parse_json(subscriber.payloads().back()).at("n").num() != 114); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::vector<std::string> got = subscriber.payloads();
  ck_assert_int_eq(int(test::parse_json(got.back()).at("n").num()), 114);
  // Records queued here during the outage arrive in order. QoS 1 is "at least once": the few handed to
  // libmosquitto as the connection broke (at most max_inflight, here from 10 on) may come again or late.
  double last = -1;
  for (const std::string& payload : got) {
    const double n = test::parse_json(payload).at("n").num();
    if (n < 10 + 20) continue;
    ck_assert_msg(n > last, "record %.0f after %.0f", n, last);
    last = n;
  }
}
END_TEST

START_TEST(mqtt_bad_settings_n) {
  auto expect = [](efficientad::gst::MqttSettings s, const char* needle) {
    test::expect_throw<efficientad::InvalidArgument>([&] { efficientad::gst::MqttSink sink(s, nullptr); }, needle);
  };
  efficientad::gst::MqttSettings s = local_broker(1883);
  s.host = "";
  expect(s, "no MQTT broker host");
  s = local_broker(0);
  expect(s, "is not 1..65535");
  s = local_broker(1883);
  s.topic = "efficientad/#";
  expect(s, "without the wildcards");
  s.topic = "";
  expect(s, "cannot be published to");
  s = local_broker(1883);
  s.host = "no-such-broker.invalid";
  expect(s, "cannot resolve the MQTT broker host 'no-such-broker.invalid'");
  s = local_broker(1883);
  s.tls_ca_file = "/nonexistent/ca.pem";
  expect(s, "TLS");
}
END_TEST

static void setup() { make_models(); }

int main() {
  return test::run_cases("element_logic", {
      {"model_swap", TESTS(swap_loads_the_requested_model, newest_request_wins, burst_of_requests_loads_at_most_two_n,
                           bad_file_is_refused_with_its_error_n, untaken_model_is_superseded_n,
                           stop_drops_requests_silently_n), 120, setup, nullptr, true},
      {"capture_policy", TESTS(capture_interval_and_min_gap, capture_skips_near_duplicates,
                               capture_resumes_numbering_until_max_frames, capture_unknown_times_never_block_n,
                               capture_finished_takes_nothing_more_n)},
      {"alarm", TESTS(alarm_hysteresis, alarm_ends_with_the_stream, alarm_idle_stream_end_is_silent_n)},
      {"publish", TESTS(record_json_escapes_and_nulls, log_rotates_by_size_and_keeps_whole_lines, torn_last_line_is_cut_n,
                        mqtt_delivers_every_record_in_order, mqtt_broker_away_never_blocks_n, mqtt_bad_settings_n),
       120},
  }, test::Fork::PerTest);  // a failed check must not leave a swap's thread behind; the parent runs no LibTorch
}
