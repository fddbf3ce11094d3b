/**
 * SECTION:element-anomalypublish
 * @title: anomalypublish
 *
 * Publishes the results that `efficientad` attaches (#GstAnomalyMeta) as JSON records, one per analysed frame
 * (#GstAnomalyPublish:when), to a JSON-lines file and/or an MQTT broker, for a line of cameras reporting to one
 * place (in the spirit of DL Streamer's gvametapublish). Frames pass through untouched; publishing never blocks
 * the stream: records wait in bounded queues (#GstAnomalyPublish:queue-size; the oldest are dropped and counted
 * when a broker or a disk is away).
 *
 * A record: `{"source", "event" ("frame", "begin", "end"), "stream_time_ns", "wall_time" (ISO 8601 UTC),
 * "frame", "score", "threshold", "anomalous", "alarm", "model_id", "regions": [{"x", "y", "width", "height",
 * "area", "peak", "mean"}], "crop_png_base64" (with #GstAnomalyPublish:crop)}`.
 *
 * The file is rotated by size (FILE.1 ... FILE.N) and never holds a broken line, even after a crash. The MQTT
 * client (libmosquitto) reconnects with back-off; QoS 0 or 1, TLS and username/password are properties; the
 * topic may contain `{source}`. Unusable settings (no destination, a bad topic, a host that does not resolve,
 * unreadable TLS files, a log that cannot be opened) fail the start with an error that says what to fix.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! efficientad model-file=part.efad ! anomalypublish source-id=line1-cam3 mqtt-host=broker.local file-path=/var/log/line1-cam3.jsonl ! fakesink
 * ]|
 */
#include "gstanomalypublish.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "jsonlinesfile.h"
#include "meta/gstanomalymeta.h"
#include "mqttsink.h"
#include "recordqueue.h"
#include "resultrecord.h"
#include "videoframe.h"

GST_DEBUG_CATEGORY_STATIC (gst_anomaly_publish_debug);
#define GST_CAT_DEFAULT gst_anomaly_publish_debug

enum {
  PROP_0,
  PROP_SOURCE_ID,
  PROP_WHEN,
  PROP_FILE_PATH,
  PROP_FILE_MAX_BYTES,
  PROP_FILE_KEEP,
  PROP_MQTT_HOST,
  PROP_MQTT_PORT,
  PROP_MQTT_TOPIC,
  PROP_MQTT_QOS,
  PROP_MQTT_CLIENT_ID,
  PROP_MQTT_USERNAME,
  PROP_MQTT_PASSWORD,
  PROP_MQTT_TLS_CA_FILE,
  PROP_MQTT_TLS_CERT_FILE,
  PROP_MQTT_TLS_KEY_FILE,
  PROP_QUEUE_SIZE,
  PROP_CROP,
  PROP_CROP_MAX_SIDE,
  PROP_PUBLISHED,
  PROP_DROPPED,
};

#define DEFAULT_SOURCE_ID "camera"
#define DEFAULT_TOPIC "efficientad/{source}/results"
#define DEFAULT_FILE_MAX_BYTES (64u << 20)
#define DEFAULT_FILE_KEEP 5
#define DEFAULT_QUEUE_SIZE 1000
#define DEFAULT_CROP_MAX_SIDE 128
/* How long EOS waits for queued records to reach the file and the broker. */
#define EOS_DRAIN_MS 5000

namespace {

/* Writes queued records to the JSON-lines file on a thread of its own: a slow disk never holds up the stream. */
class FileSink {
 public:
  FileSink (const std::string & path, uint64_t max_bytes, unsigned keep, size_t queue_size,
      std::function<void (const std::string &)> on_error)
      : file_ (path, max_bytes, keep), queue_ (queue_size), on_error_ (std::move (on_error)),
        thread_ ([this] { loop (); }) {}
  ~FileSink ()
  {
    queue_.drain (std::chrono::seconds (2));
    stopping_ = true;
    queue_.close ();
    thread_.join ();
  }
  FileSink (const FileSink &) = delete;
  FileSink & operator= (const FileSink &) = delete;

  void publish (std::string line) { queue_.push (std::move (line)); }
  bool drain (std::chrono::milliseconds timeout) { return queue_.drain (timeout); }
  uint64_t dropped () const { return queue_.dropped () + failed_; }
  uint64_t repaired_bytes () const { return file_.repaired_bytes (); }

 private:
  void loop ()
  {
    std::string line;
    while (!stopping_ || queue_.size () > 0) {
      if (!queue_.pop (&line, std::chrono::milliseconds (200)))
        continue;
      try {
        file_.append (line);
      } catch (const std::exception & e) {
        if (failed_++ == 0 && on_error_)
          on_error_ (e.what ());
      }
      queue_.done ();
    }
  }

  efficientad::gst::JsonLinesFile file_;
  efficientad::gst::RecordQueue queue_;
  std::function<void (const std::string &)> on_error_;
  std::atomic<uint64_t> failed_ {0};
  std::atomic<bool> stopping_ {false};
  std::thread thread_;  /* last: starts after the members it uses */
};

/* What the properties say, copied at start. */
struct Settings {
  std::string source_id = DEFAULT_SOURCE_ID;
  GstAnomalyPublishWhen when = GST_ANOMALY_PUBLISH_FRAMES;
  std::optional<std::string> file_path;
  guint64 file_max_bytes = DEFAULT_FILE_MAX_BYTES;
  guint file_keep = DEFAULT_FILE_KEEP;
  efficientad::gst::MqttSettings mqtt;  /* its queue_size is set from queue_size at start */
  guint queue_size = DEFAULT_QUEUE_SIZE;  /* per destination */
  gboolean crop = FALSE;
  guint crop_max_side = DEFAULT_CROP_MAX_SIDE;
};

struct Private {
  Settings settings;  /* object lock */

  /* Between start() and stop(). */
  std::unique_ptr<FileSink> file;
  std::unique_ptr<efficientad::gst::MqttSink> mqtt;
  Settings running;  /* the settings of this session */
  gboolean last_alarm = FALSE;
  guint64 last_frame = 0;
  std::atomic<guint64> published {0};  /* records handed to the sinks */
  guint64 dropped_before = 0;          /* of sessions already stopped */
};

}  // namespace

struct _GstAnomalyPublish {
  GstVideoFilter parent;
  Private *priv;
};

#define gst_anomaly_publish_parent_class parent_class
G_DEFINE_TYPE (GstAnomalyPublish, gst_anomaly_publish, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (anomalypublish, "anomalypublish", GST_RANK_NONE, GST_TYPE_ANOMALY_PUBLISH);

#define GST_TYPE_ANOMALY_PUBLISH_WHEN (gst_anomaly_publish_when_get_type ())
static GType
gst_anomaly_publish_when_get_type (void)
{
  static const GEnumValue values[] = {
    {GST_ANOMALY_PUBLISH_FRAMES, "Every analysed frame", "frames"},
    {GST_ANOMALY_PUBLISH_ANOMALOUS, "Anomalous frames and alarm edges", "anomalous"},
    {GST_ANOMALY_PUBLISH_EDGES, "Alarm begin and end only", "edges"},
    {0, NULL, NULL},
  };
  static const GType type = g_enum_register_static ("GstAnomalyPublishWhen", values);
  return type;
}

/* Records dropped by both sinks, this session and earlier ones. */
static guint64
dropped_records (const Private & p)
{
  return p.dropped_before + (p.file ? p.file->dropped () : 0) + (p.mqtt ? p.mqtt->dropped () : 0);
}

/* The topic with {source} replaced. */
static std::string
expand_topic (std::string topic, const std::string & source)
{
  for (size_t at; (at = topic.find ("{source}")) != std::string::npos;)
    topic.replace (at, 8, source);
  return topic;
}

/* A PNG of the largest region (scaled to at most max_side), or "" when it cannot be made. */
static std::string
crop_png (GstAnomalyPublish * self, GstBuffer * buffer, const GstAnomalyRegion & region, guint max_side)
{
  GstVideoFrame frame;
  if (!gst_video_frame_map (&frame, &GST_VIDEO_FILTER (self)->in_info, buffer, GST_MAP_READ))
    return "";
  std::string png;
  try {
    const efficientad::ImageView view = efficientad::gst::view_of<efficientad::ImageView> (&frame);
    bool outside;
    const GstVideoRectangle r = efficientad::gst::clip_region (region.box, view.width, view.height,
        efficientad::is_yuv (view.format), &outside);
    const double scale = std::min (1.0, double (max_side) / std::max (r.w, r.h));
    const efficientad::Image rgb = efficientad::to_rgb (view.crop (r.x, r.y, r.w, r.h),
        std::max (1, int (r.w * scale)), std::max (1, int (r.h * scale)));
    const std::vector<uint8_t> bytes = efficientad::encode_png (rgb.view ());
    png.assign (bytes.begin (), bytes.end ());
  } catch (const std::exception & e) {
    GST_DEBUG_OBJECT (self, "no crop: %s", e.what ());
  }
  gst_video_frame_unmap (&frame);
  return png;
}

static efficientad::gst::ResultRecord
make_record (GstAnomalyPublish * self, GstBuffer * buffer, const GstAnomalyMeta * meta, const char *event)
{
  const Private *p = self->priv;
  efficientad::gst::ResultRecord r;
  r.source = p->running.source_id;
  r.event = event;
  const GstClockTime running = gst_segment_to_running_time (&GST_BASE_TRANSFORM (self)->segment, GST_FORMAT_TIME,
      GST_BUFFER_PTS (buffer));
  r.stream_time_ns = GST_CLOCK_TIME_IS_VALID (running) ? running : UINT64_MAX;
  r.wall_time_ms = g_get_real_time () / 1000;
  r.frame = meta->frame_number;
  r.score = meta->score;
  r.threshold = meta->threshold;
  r.anomalous = meta->anomalous;
  r.alarm = meta->alarm;
  r.model_id = meta->model_id ? meta->model_id : "";
  for (guint i = 0; i < meta->n_regions; ++i) {
    const GstAnomalyRegion &g = meta->regions[i];
    r.regions.push_back ({g.box.x, g.box.y, g.box.w, g.box.h, g.area, g.peak, g.mean});
  }
  if (p->running.crop && meta->n_regions > 0)
    r.crop_png = crop_png (self, buffer, meta->regions[0], p->running.crop_max_side);
  return r;
}

static void
publish_line (GstAnomalyPublish * self, const std::string & line)
{
  Private *p = self->priv;
  if (p->file)
    p->file->publish (line);
  if (p->mqtt)
    p->mqtt->publish (line);
  p->published++;
}

/* The event of this frame for the `when` setting, or NULL when it is not published. */
static const char *
event_of (const Private & p, const GstAnomalyMeta * meta)
{
  const bool edge = meta->alarm != p.last_alarm;
  const char *edge_event = !edge ? nullptr : meta->alarm ? "begin" : "end";
  switch (p.running.when) {
    case GST_ANOMALY_PUBLISH_EDGES:
      return edge_event;
    case GST_ANOMALY_PUBLISH_ANOMALOUS:
      return edge_event ? edge_event : meta->anomalous ? "frame" : nullptr;
    default:
      return edge_event ? edge_event : "frame";
  }
}

static GstFlowReturn
gst_anomaly_publish_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstAnomalyPublish *self = GST_ANOMALY_PUBLISH (trans);
  Private *p = self->priv;
  const GstAnomalyMeta *meta = gst_buffer_get_anomaly_meta (buffer);
  if (meta == NULL)
    return GST_FLOW_OK;  /* a frame efficientad did not analyse */
  const char *event = event_of (*p, meta);
  p->last_alarm = meta->alarm;
  p->last_frame = meta->frame_number;
  if (event)
    publish_line (self, efficientad::gst::to_json (make_record (self, buffer, meta, event)));
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_anomaly_publish_transform_frame_ip (GstVideoFilter *, GstVideoFrame *)
{
  g_assert_not_reached ();  /* transform_ip above replaces GstVideoFilter's caller of this */
  return GST_FLOW_ERROR;
}

/* At EOS: an alarm still on ends with the stream; queued records get EOS_DRAIN_MS to reach their destinations. */
static gboolean
gst_anomaly_publish_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstAnomalyPublish *self = GST_ANOMALY_PUBLISH (trans);
  Private *p = self->priv;
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && (p->file || p->mqtt)) {
    if (p->last_alarm) {
      efficientad::gst::ResultRecord r;
      r.source = p->running.source_id;
      r.event = "end";
      r.wall_time_ms = g_get_real_time () / 1000;
      r.frame = p->last_frame;
      publish_line (self, efficientad::gst::to_json (r));
      p->last_alarm = FALSE;
    }
    const auto budget = std::chrono::milliseconds (EOS_DRAIN_MS);
    if ((p->file && !p->file->drain (budget)) || (p->mqtt && p->mqtt->connected () && !p->mqtt->drain (budget)))
      GST_WARNING_OBJECT (self, "not every record was delivered by end of stream");
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static gboolean
open_sinks (GstAnomalyPublish * self, const Settings & s)
{
  Private *p = self->priv;
  if (!s.file_path && s.mqtt.host.empty ()) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("Nothing to publish to: set file-path and/or mqtt-host."), (NULL));
    return FALSE;
  }
  try {
    if (s.file_path) {
      p->file = std::make_unique<FileSink> (*s.file_path, s.file_max_bytes, s.file_keep, s.queue_size,
          [self] (const std::string & error) {
            GST_ELEMENT_WARNING (self, RESOURCE, WRITE, ("Results are not being logged: %s", error.c_str ()), (NULL));
          });
      if (p->file->repaired_bytes () > 0)
        GST_WARNING_OBJECT (self, "cut %" G_GUINT64_FORMAT " bytes of a torn last line from %s",
            p->file->repaired_bytes (), s.file_path->c_str ());
    }
    if (!s.mqtt.host.empty ()) {
      efficientad::gst::MqttSettings mqtt = s.mqtt;
      mqtt.topic = expand_topic (mqtt.topic, s.source_id);
      mqtt.queue_size = s.queue_size;
      p->mqtt = std::make_unique<efficientad::gst::MqttSink> (mqtt, [self] (const std::string & problem) {
            GST_ELEMENT_WARNING (self, RESOURCE, WRITE, ("%s", problem.c_str ()), (NULL));
          });
    }
  } catch (const std::exception & e) {
    p->file.reset ();
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("Cannot publish results: %s", e.what ()), (NULL));
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_anomaly_publish_start (GstBaseTransform * trans)
{
  GstAnomalyPublish *self = GST_ANOMALY_PUBLISH (trans);
  Private *p = self->priv;
  GST_OBJECT_LOCK (self);
  const Settings settings = p->settings;
  GST_OBJECT_UNLOCK (self);
  p->running = settings;
  p->last_alarm = FALSE;
  return open_sinks (self, settings);
}

static gboolean
gst_anomaly_publish_stop (GstBaseTransform * trans)
{
  GstAnomalyPublish *self = GST_ANOMALY_PUBLISH (trans);
  Private *p = self->priv;
  GST_OBJECT_LOCK (self);
  std::unique_ptr<FileSink> file = std::move (p->file);
  std::unique_ptr<efficientad::gst::MqttSink> mqtt = std::move (p->mqtt);
  GST_OBJECT_UNLOCK (self);
  const guint64 dropped = (file ? file->dropped () : 0) + (mqtt ? mqtt->dropped () : 0);
  if (dropped > 0)
    GST_WARNING_OBJECT (self, "%" G_GUINT64_FORMAT " records were dropped this session", dropped);
  mqtt.reset ();  /* waits up to 2 s for queued records while connected */
  file.reset ();
  GST_OBJECT_LOCK (self);
  p->dropped_before += dropped;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static void
set_optional (std::optional<std::string> & target, const GValue * value)
{
  const gchar *text = g_value_get_string (value);
  target = text && *text ? std::optional<std::string> (text) : std::nullopt;
}

static std::string
string_or_empty (const GValue * value)
{
  const gchar *text = g_value_get_string (value);
  return text ? text : "";
}

static void
gst_anomaly_publish_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstAnomalyPublish *self = GST_ANOMALY_PUBLISH (object);
  Settings &s = self->priv->settings;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SOURCE_ID:
      s.source_id = string_or_empty (value);
      break;
    case PROP_WHEN:
      s.when = (GstAnomalyPublishWhen) g_value_get_enum (value);
      break;
    case PROP_FILE_PATH:
      set_optional (s.file_path, value);
      break;
    case PROP_FILE_MAX_BYTES:
      s.file_max_bytes = g_value_get_uint64 (value);
      break;
    case PROP_FILE_KEEP:
      s.file_keep = g_value_get_uint (value);
      break;
    case PROP_MQTT_HOST:
      s.mqtt.host = string_or_empty (value);
      break;
    case PROP_MQTT_PORT:
      s.mqtt.port = (int) g_value_get_uint (value);
      break;
    case PROP_MQTT_TOPIC:
      s.mqtt.topic = string_or_empty (value);
      break;
    case PROP_MQTT_QOS:
      s.mqtt.qos = (int) g_value_get_uint (value);
      break;
    case PROP_MQTT_CLIENT_ID:
      s.mqtt.client_id = string_or_empty (value);
      break;
    case PROP_MQTT_USERNAME:
      s.mqtt.username = string_or_empty (value);
      break;
    case PROP_MQTT_PASSWORD:
      s.mqtt.password = string_or_empty (value);
      break;
    case PROP_MQTT_TLS_CA_FILE:
      s.mqtt.tls_ca_file = string_or_empty (value);
      break;
    case PROP_MQTT_TLS_CERT_FILE:
      s.mqtt.tls_cert_file = string_or_empty (value);
      break;
    case PROP_MQTT_TLS_KEY_FILE:
      s.mqtt.tls_key_file = string_or_empty (value);
      break;
    case PROP_QUEUE_SIZE:
      s.queue_size = g_value_get_uint (value);
      break;
    case PROP_CROP:
      s.crop = g_value_get_boolean (value);
      break;
    case PROP_CROP_MAX_SIDE:
      s.crop_max_side = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_anomaly_publish_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstAnomalyPublish *self = GST_ANOMALY_PUBLISH (object);
  const Private *p = self->priv;
  const Settings &s = p->settings;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SOURCE_ID:
      g_value_set_string (value, s.source_id.c_str ());
      break;
    case PROP_WHEN:
      g_value_set_enum (value, s.when);
      break;
    case PROP_FILE_PATH:
      g_value_set_string (value, s.file_path ? s.file_path->c_str () : NULL);
      break;
    case PROP_FILE_MAX_BYTES:
      g_value_set_uint64 (value, s.file_max_bytes);
      break;
    case PROP_FILE_KEEP:
      g_value_set_uint (value, s.file_keep);
      break;
    case PROP_MQTT_HOST:
      g_value_set_string (value, s.mqtt.host.c_str ());
      break;
    case PROP_MQTT_PORT:
      g_value_set_uint (value, (guint) s.mqtt.port);
      break;
    case PROP_MQTT_TOPIC:
      g_value_set_string (value, s.mqtt.topic.c_str ());
      break;
    case PROP_MQTT_QOS:
      g_value_set_uint (value, (guint) s.mqtt.qos);
      break;
    case PROP_MQTT_CLIENT_ID:
      g_value_set_string (value, s.mqtt.client_id.c_str ());
      break;
    case PROP_MQTT_USERNAME:
      g_value_set_string (value, s.mqtt.username.c_str ());
      break;
    case PROP_MQTT_PASSWORD:
      g_value_set_string (value, s.mqtt.password.empty () ? "" : "********");  /* never read back */
      break;
    case PROP_MQTT_TLS_CA_FILE:
      g_value_set_string (value, s.mqtt.tls_ca_file.c_str ());
      break;
    case PROP_MQTT_TLS_CERT_FILE:
      g_value_set_string (value, s.mqtt.tls_cert_file.c_str ());
      break;
    case PROP_MQTT_TLS_KEY_FILE:
      g_value_set_string (value, s.mqtt.tls_key_file.c_str ());
      break;
    case PROP_QUEUE_SIZE:
      g_value_set_uint (value, s.queue_size);
      break;
    case PROP_CROP:
      g_value_set_boolean (value, s.crop);
      break;
    case PROP_CROP_MAX_SIDE:
      g_value_set_uint (value, s.crop_max_side);
      break;
    case PROP_PUBLISHED:
      g_value_set_uint64 (value, p->published);
      break;
    case PROP_DROPPED:
      g_value_set_uint64 (value, dropped_records (*p));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_anomaly_publish_finalize (GObject * object)
{
  GstAnomalyPublish *self = GST_ANOMALY_PUBLISH (object);
  delete self->priv;  /* stops the sinks if stop() never ran */
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
install_string (GObjectClass * klass, guint id, const gchar * name, const gchar * nick, const gchar * blurb,
    const gchar * default_value, GParamFlags flags)
{
  g_object_class_install_property (klass, id, g_param_spec_string (name, nick, blurb, default_value, flags));
}

static void
install_mqtt_properties (GObjectClass * k, GParamFlags rw)
{
  install_string (k, PROP_MQTT_HOST, "mqtt-host", "MQTT host", "Broker to publish to; empty: no MQTT", "", rw);
  g_object_class_install_property (k, PROP_MQTT_PORT, g_param_spec_uint ("mqtt-port", "MQTT port",
          "Broker port (8883 is usual with TLS)", 1, 65535, 1883, rw));
  install_string (k, PROP_MQTT_TOPIC, "mqtt-topic", "MQTT topic", "Topic of the records; {source} is replaced by "
      "source-id", DEFAULT_TOPIC, rw);
  g_object_class_install_property (k, PROP_MQTT_QOS, g_param_spec_uint ("mqtt-qos", "MQTT QoS",
          "0: at most once; 1: at least once (acknowledged by the broker)", 0, 1, 0, rw));
  install_string (k, PROP_MQTT_CLIENT_ID, "mqtt-client-id", "MQTT client id", "Empty: one is made up", "", rw);
  install_string (k, PROP_MQTT_USERNAME, "mqtt-username", "MQTT username", "Empty: anonymous", "", rw);
  install_string (k, PROP_MQTT_PASSWORD, "mqtt-password", "MQTT password", "With mqtt-username (reads back as "
      "********)", "", rw);
  install_string (k, PROP_MQTT_TLS_CA_FILE, "mqtt-tls-ca-file", "MQTT TLS CA file", "CA certificate (PEM) that "
      "turns TLS on; empty: plain TCP", "", rw);
  install_string (k, PROP_MQTT_TLS_CERT_FILE, "mqtt-tls-cert-file", "MQTT TLS certificate", "Client certificate "
      "(PEM) for brokers that require one", "", rw);
  install_string (k, PROP_MQTT_TLS_KEY_FILE, "mqtt-tls-key-file", "MQTT TLS key", "Key of the client certificate",
      "", rw);
}

static void
install_properties (GObjectClass * k)
{
  const GParamFlags rw = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  const GParamFlags ro = (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  install_string (k, PROP_SOURCE_ID, "source-id", "Source id", "Name of this camera or station in the records",
      DEFAULT_SOURCE_ID, rw);
  g_object_class_install_property (k, PROP_WHEN, g_param_spec_enum ("when", "When", "Which analysed frames are "
          "published", GST_TYPE_ANOMALY_PUBLISH_WHEN, GST_ANOMALY_PUBLISH_FRAMES, rw));
  install_string (k, PROP_FILE_PATH, "file-path", "File path", "JSON-lines log to append to; empty: no file",
      NULL, rw);
  g_object_class_install_property (k, PROP_FILE_MAX_BYTES, g_param_spec_uint64 ("file-max-bytes", "File max "
          "bytes", "Size at which the log is rotated (FILE -> FILE.1 -> ...)", 1024, G_MAXUINT64,
          DEFAULT_FILE_MAX_BYTES, rw));
  g_object_class_install_property (k, PROP_FILE_KEEP, g_param_spec_uint ("file-keep", "File keep", "Rotated logs "
          "kept (FILE.1 .. FILE.N); 0 keeps none", 0, 1000, DEFAULT_FILE_KEEP, rw));
  install_mqtt_properties (k, rw);
  g_object_class_install_property (k, PROP_QUEUE_SIZE, g_param_spec_uint ("queue-size", "Queue size", "Records "
          "waiting per destination at most; beyond, the oldest are dropped (counted in 'dropped')", 1, 10000000,
          DEFAULT_QUEUE_SIZE, rw));
  g_object_class_install_property (k, PROP_CROP, g_param_spec_boolean ("crop", "Crop", "Add a PNG of the largest "
          "defect region to each record that has one (base64)", FALSE, rw));
  g_object_class_install_property (k, PROP_CROP_MAX_SIDE, g_param_spec_uint ("crop-max-side", "Crop max side",
          "Longest side of a crop in pixels (scaled down beyond)", 8, 4096, DEFAULT_CROP_MAX_SIDE, rw));
  g_object_class_install_property (k, PROP_PUBLISHED, g_param_spec_uint64 ("published", "Published", "Records "
          "published since the element was made (read-only)", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (k, PROP_DROPPED, g_param_spec_uint64 ("dropped", "Dropped", "Records dropped "
          "because a destination was away or full (read-only)", 0, G_MAXUINT64, 0, ro));
}

static void
gst_anomaly_publish_class_init (GstAnomalyPublishClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_anomaly_publish_set_property;
  gobject_class->get_property = gst_anomaly_publish_get_property;
  gobject_class->finalize = gst_anomaly_publish_finalize;
  install_properties (gobject_class);

  gst_element_class_set_static_metadata (element_class, "Anomaly result publisher", "Filter/Analyzer/Video",
      "Publishes efficientad's results as JSON records to a JSON-lines file and an MQTT broker",
      "gst-efficientad maintainers");
  efficientad::gst::add_video_pad_templates (element_class);
  trans_class->start = GST_DEBUG_FUNCPTR (gst_anomaly_publish_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_anomaly_publish_stop);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_anomaly_publish_transform_ip);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_anomaly_publish_sink_event);
  /* Frames are only read (see efficientadtrain): passthrough, with transform_ip still called. */
  GST_VIDEO_FILTER_CLASS (klass)->transform_frame_ip = gst_anomaly_publish_transform_frame_ip;
  trans_class->transform_ip_on_passthrough = TRUE;
  gst_type_mark_as_plugin_api (GST_TYPE_ANOMALY_PUBLISH_WHEN, (GstPluginAPIFlags) 0);
  GST_DEBUG_CATEGORY_INIT (gst_anomaly_publish_debug, "anomalypublish", 0, "Anomaly result publisher");
}

static void
gst_anomaly_publish_init (GstAnomalyPublish * self)
{
  self->priv = new Private ();
  self->priv->settings.mqtt.topic = DEFAULT_TOPIC;
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}
