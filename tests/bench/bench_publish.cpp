// Publishing figures for anomalypublish's sinks, against a real mosquitto broker on loopback:
//   records/s each destination sustains (MQTT QoS 0 and 1, the JSON-lines file), the cost per analysed frame on
//   the streaming thread (record to JSON and into the queues), and resident memory while the broker is away for
//   AWAY_SECONDS (default 60) with 30 records/s arriving.
//   bench_publish [AWAY_SECONDS]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "broker.h"
#include "jsonlinesfile.h"
#include "mqttsink.h"
#include "resultrecord.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return -1;
}

// A typical record: two regions, no crop.
efficientad::gst::ResultRecord typical(uint64_t frame) {
  efficientad::gst::ResultRecord r;
  r.source = "line1-cam3";
  r.stream_time_ns = frame * 33333333ull;
  r.wall_time_ms = 1764648306789 + int64_t(frame) * 33;
  r.frame = frame;
  r.score = 0.23f;
  r.threshold = 0.18f;
  r.anomalous = r.alarm = true;
  r.model_id = "5f3a9c0e11d2b7a4";
  r.regions = {{412, 300, 64, 40, 1800, 0.41f, 0.27f}, {80, 96, 16, 12, 150, 0.22f, 0.2f}};
  return r;
}

efficientad::gst::MqttSettings settings(int port, int qos, size_t queue) {
  efficientad::gst::MqttSettings s;
  s.host = "127.0.0.1";
  s.port = port;
  s.topic = "bench/line1-cam3/results";
  s.qos = qos;
  s.queue_size = queue;
  return s;
}

void mqtt_throughput(int port, int qos) {
  const int n = 20000;
  efficientad::gst::MqttSink sink(settings(port, qos, n), nullptr);
  for (int i = 0; i < 100 && !sink.connected(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) sink.publish(efficientad::gst::to_json(typical(uint64_t(i))));
  sink.drain(std::chrono::seconds(120));
  std::printf("MQTT QoS %d: %llu of %d records in %.2f s: %.0f records/s\n", qos,
              (unsigned long long)sink.published(), n, seconds_since(start), double(sink.published()) / seconds_since(start));
}

void file_throughput() {
  const std::string path = test::temp_folder("bench-publish") + "/results.jsonl";
  efficientad::gst::JsonLinesFile log(path, 64u << 20, 2);
  const int n = 100000;
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) log.append(efficientad::gst::to_json(typical(uint64_t(i))));
  std::printf("JSON-lines file: %d records in %.2f s: %.0f records/s\n", n, seconds_since(start), n / seconds_since(start));
}

// What the streaming thread pays per analysed frame: the record, its JSON and the push into a queue.
void per_frame_cost(int port) {
  efficientad::gst::MqttSink sink(settings(port, 0, 1000), nullptr);
  const int n = 100000;
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) sink.publish(efficientad::gst::to_json(typical(uint64_t(i))));
  std::printf("streaming-thread cost per frame (record, JSON, queue): %.2f us\n", 1e6 * seconds_since(start) / n);
}

void broker_away(test::Broker& broker, int seconds) {
  efficientad::gst::MqttSink sink(settings(broker.port(), 1, 1000), nullptr);
  for (int i = 0; i < 100 && !sink.connected(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  broker.kill_now();
  const double before = rss_mb();
  double peak = before;
  uint64_t frame = 0;
  const auto start = Clock::now();
  while (seconds_since(start) < seconds) {
    sink.publish(efficientad::gst::to_json(typical(frame++)));
    std::this_thread::sleep_for(std::chrono::milliseconds(33));
    if (frame % 300 == 0) {
      peak = std::max(peak, rss_mb());
      std::printf("  broker away %3.0f s: %llu records, %llu dropped, RSS %.1f MB\n", seconds_since(start),
                  (unsigned long long)frame, (unsigned long long)sink.dropped(), rss_mb());
    }
  }
  std::printf("broker away %d s at 30 records/s: %llu records, %llu dropped (queue 1000), RSS %.1f -> %.1f MB "
              "(peak %.1f)\n", seconds, (unsigned long long)frame, (unsigned long long)sink.dropped(), before, rss_mb(),
              peak);
  broker.start();
  sink.drain(std::chrono::seconds(60));
  std::printf("after the restart: %llu records delivered\n", (unsigned long long)sink.published());
}

}  // namespace

int main(int argc, char** argv) {
  const int away = argc > 1 ? std::atoi(argv[1]) : 60;
  test::Broker broker;
  std::printf("record size: %zu bytes\n", efficientad::gst::to_json(typical(1)).size());
  mqtt_throughput(broker.port(), 0);
  mqtt_throughput(broker.port(), 1);
  file_throughput();
  per_frame_cost(broker.port());
  broker_away(broker, away);
  return 0;
}
