#include "mqttsink.h"

#include <mosquitto.h>
#include <netdb.h>

#include <cstring>
#include <mutex>

#include "efficientad/errors.h"

namespace efficientad::gst {

namespace {

void check_settings (const MqttSettings & s)
{
  if (s.host.empty ())
    throw InvalidArgument ("no MQTT broker host given");
  if (s.port < 1 || s.port > 65535)
    throw InvalidArgument ("MQTT port " + std::to_string (s.port) + " is not 1..65535");
  if (s.topic.empty () || mosquitto_pub_topic_check (s.topic.c_str ()) != MOSQ_ERR_SUCCESS) {
    throw InvalidArgument ("MQTT topic '" + s.topic + "' cannot be published to: it must be non-empty UTF-8 "
        "without the wildcards + and #");
  }
  if (s.qos < 0 || s.qos > 1)
    throw InvalidArgument ("MQTT QoS " + std::to_string (s.qos) + " is not 0 or 1");
  addrinfo *found = nullptr;
  const int rc = getaddrinfo (s.host.c_str (), nullptr, nullptr, &found);
  if (rc != 0)
    throw InvalidArgument ("cannot resolve the MQTT broker host '" + s.host + "': " + gai_strerror (rc));
  freeaddrinfo (found);
}

}  // namespace

MqttSink::MqttSink (MqttSettings settings, std::function<void (const std::string &)> on_outage)
    : settings_ (std::move (settings)), on_outage_ (std::move (on_outage)), queue_ (settings_.queue_size)
{
  check_settings (settings_);
  static std::once_flag initialised;
  std::call_once (initialised, [] { mosquitto_lib_init (); });
  mosq_ = mosquitto_new (settings_.client_id.empty () ? nullptr : settings_.client_id.c_str (), true, this);
  if (mosq_ == nullptr)
    throw InvalidArgument ("cannot create an MQTT client (client id '" + settings_.client_id + "')");
  mosquitto_connect_callback_set (mosq_, on_connect);
  mosquitto_disconnect_callback_set (mosq_, on_disconnect);
  mosquitto_publish_callback_set (mosq_, on_publish);
  mosquitto_reconnect_delay_set (mosq_, 1, 30, true);
  mosquitto_max_inflight_messages_set (mosq_, settings_.max_inflight);
  if (!settings_.username.empty ())
    mosquitto_username_pw_set (mosq_, settings_.username.c_str (),
        settings_.password.empty () ? nullptr : settings_.password.c_str ());
  if (!settings_.tls_ca_file.empty ()) {
    const int rc = mosquitto_tls_set (mosq_, settings_.tls_ca_file.c_str (), nullptr,
        settings_.tls_cert_file.empty () ? nullptr : settings_.tls_cert_file.c_str (),
        settings_.tls_key_file.empty () ? nullptr : settings_.tls_key_file.c_str (), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      mosquitto_destroy (mosq_);
      throw InvalidArgument ("cannot use the MQTT TLS files (CA " + settings_.tls_ca_file + "): " +
          mosquitto_strerror (rc));
    }
  }
  /* A broker that is down now is retried by the loop; only a setting it can never connect with fails here. */
  const int rc = mosquitto_connect_async (mosq_, settings_.host.c_str (), settings_.port, 30);
  if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_ERRNO)
    report_outage (mosquitto_strerror (rc));
  mosquitto_loop_start (mosq_);
  sender_ = std::thread ([this] { send_loop (); });
}

MqttSink::~MqttSink ()
{
  if (connected_)
    drain (std::chrono::seconds (2));
  stopping_ = true;
  queue_.close ();
  changed_.notify_all ();
  sender_.join ();
  mosquitto_disconnect (mosq_);
  mosquitto_loop_stop (mosq_, true);
  mosquitto_destroy (mosq_);
}

bool
MqttSink::drain (std::chrono::milliseconds timeout)
{
  const auto deadline = std::chrono::steady_clock::now () + timeout;
  if (!queue_.drain (timeout))
    return false;
  std::unique_lock<std::mutex> lock (mutex_);
  return changed_.wait_until (lock, deadline, [this] { return inflight_ == 0; });
}

void
MqttSink::report_outage (const std::string & reason)
{
  {
    std::lock_guard<std::mutex> lock (mutex_);
    if (outage_reported_)
      return;
    outage_reported_ = true;
  }
  if (on_outage_)
    on_outage_ ("MQTT broker " + settings_.host + ":" + std::to_string (settings_.port) + " unreachable (" + reason +
        "); results are queued (at most " + std::to_string (settings_.queue_size) + ", the oldest dropped) and "
        "the connection is retried");
}

void
MqttSink::on_connect (struct mosquitto *, void *self, int rc)
{
  auto *sink = static_cast<MqttSink *> (self);
  if (rc != 0) {
    sink->report_outage (mosquitto_connack_string (rc));
    return;
  }
  {
    std::lock_guard<std::mutex> lock (sink->mutex_);
    sink->outage_reported_ = false;
    /* QoS 0 messages in flight when the connection broke are gone. QoS 1 ones are resent by libmosquitto now,
     * and acknowledged before the sender goes on, so that records still arrive in order. */
    if (sink->settings_.qos == 0)
      sink->inflight_ = 0;
  }
  sink->connected_ = true;
  sink->changed_.notify_all ();
}

void
MqttSink::on_disconnect (struct mosquitto *, void *self, int rc)
{
  auto *sink = static_cast<MqttSink *> (self);
  sink->connected_ = false;
  sink->changed_.notify_all ();
  if (rc != 0 && !sink->stopping_)
    sink->report_outage (rc == MOSQ_ERR_CONN_LOST ? "connection lost" : mosquitto_strerror (rc));
}

void
MqttSink::on_publish (struct mosquitto *, void *self, int)
{
  auto *sink = static_cast<MqttSink *> (self);
  sink->published_++;
  {
    std::lock_guard<std::mutex> lock (sink->mutex_);
    if (sink->inflight_ > 0)
      sink->inflight_--;
  }
  sink->changed_.notify_all ();
}

/* Hands records to libmosquitto while connected, at most max_inflight of them unconfirmed. */
void
MqttSink::send_loop ()
{
  std::string record;
  while (!stopping_) {
    {
      std::unique_lock<std::mutex> lock (mutex_);
      changed_.wait_for (lock, std::chrono::milliseconds (200), [this] {
            return stopping_ || (connected_ && inflight_ < settings_.max_inflight); });
      if (stopping_ || !connected_ || inflight_ >= settings_.max_inflight)
        continue;
    }
    if (!queue_.pop (&record, std::chrono::milliseconds (200)))
      continue;
    {
      std::lock_guard<std::mutex> lock (mutex_);
      inflight_++;
    }
    const int rc = mosquitto_publish (mosq_, nullptr, settings_.topic.c_str (), int (record.size ()), record.data (),
        settings_.qos, false);
    if (rc == MOSQ_ERR_SUCCESS) {
      queue_.done ();
      continue;
    }
    {
      std::lock_guard<std::mutex> lock (mutex_);
      inflight_--;
    }
    queue_.put_back (std::move (record));  /* not connected after all: sent once the broker is back */
  }
}

}  // namespace efficientad::gst
