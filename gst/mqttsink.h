/* Publishing records to an MQTT broker (libmosquitto) from threads of its own: publish() never blocks the stream.
 * While the broker is away, records wait in a bounded queue (the oldest dropped and counted when it is full)
 * and the connection is retried with exponential back-off (1 s to 30 s). At most max_inflight messages are
 * handed to libmosquitto at a time, so that its own queue stays bounded too. */
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "recordqueue.h"

struct mosquitto;

namespace efficientad::gst {

struct MqttSettings {
  std::string host;
  int port = 1883;
  std::string topic;
  int qos = 0;             /* 0: at most once; 1: at least once (acknowledged by the broker) */
  std::string client_id;   /* empty: the library makes one up */
  std::string username, password;
  std::string tls_ca_file, tls_cert_file, tls_key_file;  /* a CA file turns TLS on */
  size_t queue_size = 1000;
  unsigned max_inflight = 20;
};

class MqttSink {
 public:
  /* Checks the settings (the host resolves, the topic is one to publish to, the TLS files are readable) and
   * starts connecting; the broker need not be up yet. Throws InvalidArgument saying what to fix.
   * `on_outage` is called (from a libmosquitto thread) when the connection is lost or cannot be made, once per
   * outage, with the reason. */
  MqttSink (MqttSettings settings, std::function<void (const std::string &)> on_outage);
  ~MqttSink ();  /* waits up to 2 s for queued records while connected, then disconnects */
  MqttSink (const MqttSink &) = delete;
  MqttSink & operator= (const MqttSink &) = delete;

  void publish (std::string payload) { queue_.push (std::move (payload)); }
  /* Waits up to `timeout` until every queued record was sent (QoS 1: acknowledged). */
  bool drain (std::chrono::milliseconds timeout);

  uint64_t published () const { return published_; }  /* sent (QoS 1: acknowledged) */
  uint64_t dropped () const { return queue_.dropped (); }
  bool connected () const { return connected_; }

 private:
  static void on_connect (struct mosquitto *, void *self, int rc);
  static void on_disconnect (struct mosquitto *, void *self, int rc);
  static void on_publish (struct mosquitto *, void *self, int mid);
  void send_loop ();
  void report_outage (const std::string & reason);

  MqttSettings settings_;
  std::function<void (const std::string &)> on_outage_;
  RecordQueue queue_;
  struct mosquitto *mosq_ = nullptr;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::atomic<bool> connected_ {false}, stopping_ {false};
  bool outage_reported_ = false;  /* mutex_ */
  unsigned inflight_ = 0;         /* mutex_ */
  std::atomic<uint64_t> published_ {0};
  std::thread sender_;
};

}  // namespace efficientad::gst
