/**
 * SECTION:element-efficientad
 * @title: efficientad
 *
 * Visual anomaly detection with EfficientAD. The model (`efficientad train`) learnt what good parts look like;
 * each analysed frame gets a #GstAnomalyMeta with the image score, the threshold, the decision and an anomaly
 * map over the analysed rectangle of the frame. Frames pass through unchanged (add `anomalyoverlay` to see the
 * map). Any size and any of RGB, BGR, RGBA, BGRA, RGBx, BGRx, xRGB, xBGR, NV12, I420 and GRAY8 is accepted:
 * colour conversion and resizing to the model's input happen inside, and caps may change mid-stream.
 *
 * The element posts `anomaly` element messages: `event` is "begin" when the decision turns anomalous for
 * #GstEfficientAd:alarm-on-frames analysed frames in a row, "end" when it has been normal for
 * #GstEfficientAd:alarm-off-frames frames (or at end of stream during an alarm, with the time of the last analysed
 * frame and score 0), and "frame" for every analysed
 * frame when #GstEfficientAd:post-messages is "all". Fields: `timestamp` and `running-time` (guint64, ns),
 * `score`, `threshold` (gfloat), `anomalous` (gboolean), `frame` (guint64), `model-id` (string).
 *
 * The model is loaded when the element starts: a missing or unusable model fails the state change with an
 * error that says what to do, before any frame flows.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=line.mp4 ! decodebin ! efficientad model-file=washer.efad ! anomalyoverlay ! videoconvert ! autovideosink
 * ]| Detect and show the anomaly map over the video.
 * |[
 * gst-launch-1.0 -m v4l2src ! efficientad model-file=washer.efad inference-interval=3 roi=320,180,640,360 ! fakesink
 * ]| Inspect a region of every third camera frame and print the alarm messages.
 */
#include "gstefficientad.h"

#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "efficientad/detector.h"
#include "efficientad/errors.h"
#include "meta/gstanomalymeta.h"
#include "videoframe.h"

GST_DEBUG_CATEGORY_STATIC (gst_efficientad_debug);
#define GST_CAT_DEFAULT gst_efficientad_debug

enum {
  PROP_0,
  PROP_MODEL_FILE,
  PROP_DEVICE,
  PROP_MODE,
  PROP_THRESHOLD,
  PROP_INFERENCE_INTERVAL,
  PROP_ROI,
  PROP_POST_MESSAGES,
  PROP_ALARM_ON_FRAMES,
  PROP_ALARM_OFF_FRAMES,
  PROP_THREADS,
  PROP_MODEL_ID,
};

#define DEFAULT_DEVICE GST_EFFICIENTAD_DEVICE_AUTO
#define DEFAULT_MODE GST_EFFICIENTAD_MODE_FAST
#define DEFAULT_THRESHOLD (-1.0f)
#define DEFAULT_INFERENCE_INTERVAL 1
#define DEFAULT_POST_MESSAGES GST_EFFICIENTAD_MESSAGES_EDGES
#define DEFAULT_ALARM_ON_FRAMES 1
#define DEFAULT_ALARM_OFF_FRAMES 3
#define DEFAULT_THREADS 0

/* A thread loading a model for a live swap; `done` tells when joining it will not block. */
struct ModelLoader {
  std::thread thread;
  std::shared_ptr<std::atomic<bool>> done;
};

struct _GstEfficientAd {
  GstVideoFilter parent;

  /* Properties, under the object lock. */
  gchar *model_file;
  GstEfficientAdDevice device;
  GstEfficientAdMode mode;
  gfloat threshold; /* < 0: the model's calibrated threshold */
  guint inference_interval;
  gchar *roi_text;
  GstVideoRectangle roi; /* w == 0: the whole frame */
  GstEfficientAdMessages post_messages;
  guint alarm_on_frames, alarm_off_frames;
  guint threads;

  /* Between start() and stop(): the engine and the model it holds, under the object lock. Replaced only by the
   * streaming thread (live model swap) and by start()/stop(). */
  efficientad::Detector *detector;
  gchar *model_id;
  gfloat model_threshold;

  /* Live model swap: a model-file set while running is loaded on a thread of `loaders`; the result waits in
   * `pending` until the streaming thread swaps it in between two frames. A newer request (higher generation)
   * supersedes an older one still loading. Under the object lock. */
  std::vector<ModelLoader> *loaders;
  efficientad::Detector *pending;
  gchar *pending_path;
  guint64 model_generation;

  /* Streaming thread only. */
  guint64 frame_number;
  guint anomalous_run, normal_run;
  gboolean alarm;
  GstClockTime last_pts; /* of the last analysed frame: the time of an alarm ended by end of stream */
  gboolean warned_roi, warned_buffer;
};

#define gst_efficientad_parent_class parent_class
G_DEFINE_TYPE (GstEfficientAd, gst_efficientad, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (efficientad, "efficientad", GST_RANK_NONE, GST_TYPE_EFFICIENTAD);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (EFFICIENTAD_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (EFFICIENTAD_VIDEO_FORMATS)));

GType
gst_efficientad_device_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_EFFICIENTAD_DEVICE_AUTO, "CUDA when this build and machine have it, else the CPU", "auto"},
    {GST_EFFICIENTAD_DEVICE_CPU, "CPU", "cpu"},
    {GST_EFFICIENTAD_DEVICE_CUDA, "NVIDIA GPU (needs a CUDA build of LibTorch)", "cuda"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstEfficientAdDevice", values));
  return type;
}

GType
gst_efficientad_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_EFFICIENTAD_MODE_FAST, "Reduced precision (int8/bf16 on the CPU), about 4x faster", "fast"},
    {GST_EFFICIENTAD_MODE_EXACT, "fp32 with the paper's formulas", "exact"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstEfficientAdMode", values));
  return type;
}

#define GST_TYPE_EFFICIENTAD_MESSAGES (gst_efficientad_messages_get_type ())
static GType
gst_efficientad_messages_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_EFFICIENTAD_MESSAGES_NONE, "No messages", "none"},
    {GST_EFFICIENTAD_MESSAGES_EDGES, "When an anomaly begins and ends", "edges"},
    {GST_EFFICIENTAD_MESSAGES_ALL, "Begin and end, and one per analysed frame", "all"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstEfficientAdMessages", values));
  return type;
}

/* Object lock held. */
static efficientad::DetectorOptions
detector_options (GstEfficientAd * self)
{
  efficientad::DetectorOptions options;
  options.device = self->device == GST_EFFICIENTAD_DEVICE_CPU ? efficientad::Device::Cpu
      : self->device == GST_EFFICIENTAD_DEVICE_CUDA ? efficientad::Device::Cuda : efficientad::Device::Auto;
  options.mode = self->mode == GST_EFFICIENTAD_MODE_EXACT ? efficientad::Mode::Exact : efficientad::Mode::Fast;
  options.threads = (int) self->threads;
  return options;
}

/* `model_id` and `frame` (the first frame the new model analyses) on success, `error` otherwise. */
static void
post_model_updated (GstEfficientAd * self, const gchar * path, const gchar * model_id, guint64 frame,
    const gchar * error)
{
  GstStructure *s = gst_structure_new ("model-updated", "model-file", G_TYPE_STRING, path,
      "success", G_TYPE_BOOLEAN, error == NULL, NULL);
  if (model_id)
    gst_structure_set (s, "model-id", G_TYPE_STRING, model_id, "frame", G_TYPE_UINT64, frame, NULL);
  if (error)
    gst_structure_set (s, "error", G_TYPE_STRING, error, NULL);
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

/* Runs on a loader thread: the streaming thread goes on with the old model meanwhile. */
static void
load_model_in_background (GstEfficientAd * self, std::string path, efficientad::DetectorOptions options,
    guint64 generation, std::shared_ptr<std::atomic<bool>> done)
{
  efficientad::Detector *detector = nullptr;
  std::string error;
  try {
    detector = new efficientad::Detector (path, options);
  } catch (const std::exception & e) {
    error = e.what ();
  }
  GST_OBJECT_LOCK (self);
  const gboolean current = generation == self->model_generation;
  gchar *dropped_path = NULL;  /* an earlier model still waiting for its first frame: replaced unused */
  if (detector != nullptr && current) {
    delete self->pending;
    self->pending = detector;
    dropped_path = self->pending_path;
    self->pending_path = g_strdup (path.c_str ());
    detector = nullptr;
  }
  GST_OBJECT_UNLOCK (self);
  if (dropped_path)
    post_model_updated (self, dropped_path, NULL, 0, "superseded by a later model-file");
  g_free (dropped_path);
  if (!error.empty ()) {
    GST_ELEMENT_WARNING (self, RESOURCE, OPEN_READ, ("Model not swapped, the current model keeps running: %s",
            error.c_str ()), ("model-file=%s", path.c_str ()));
    post_model_updated (self, path.c_str (), NULL, 0, error.c_str ());
  } else if (!current) {
    delete detector;
    post_model_updated (self, path.c_str (), NULL, 0, "superseded by a later model-file");
  }
  *done = true;
}

/* Object lock held; the element is running. */
static void
request_model_swap (GstEfficientAd * self)
{
  auto &loaders = *self->loaders;
  for (auto it = loaders.begin (); it != loaders.end ();) {  /* reap finished loaders: swaps may be frequent */
    if (*it->done) {
      it->thread.join ();
      it = loaders.erase (it);
    } else {
      ++it;
    }
  }
  const guint64 generation = ++self->model_generation;
  auto done = std::make_shared<std::atomic<bool>> (false);
  loaders.push_back ({std::thread (load_model_in_background, self,
          std::string (self->model_file ? self->model_file : ""), detector_options (self), generation, done), done});
}

/* Streaming thread: puts a model that finished loading in place, between two frames. */
static void
swap_in_pending_model (GstEfficientAd * self)
{
  GST_OBJECT_LOCK (self);
  efficientad::Detector *retired = self->detector;
  self->detector = self->pending;
  self->pending = nullptr;
  gchar *path = self->pending_path;
  self->pending_path = NULL;
  g_free (self->model_id);
  self->model_id = g_strdup (self->detector->info ().model_id.c_str ());
  self->model_threshold = self->detector->info ().threshold;
  gchar *model_id = g_strdup (self->model_id);
  GST_OBJECT_UNLOCK (self);
  delete retired;
  GST_INFO_OBJECT (self, "swapped in model %s from %s", model_id, path);
  post_model_updated (self, path, model_id, self->frame_number, NULL);
  g_free (model_id);
  g_free (path);
}

static void
gst_efficientad_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstEfficientAd *self = GST_EFFICIENTAD (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL_FILE:
      g_free (self->model_file);
      self->model_file = g_value_dup_string (value);
      if (self->detector != nullptr)
        request_model_swap (self);
      break;
    case PROP_DEVICE:
      self->device = (GstEfficientAdDevice) g_value_get_enum (value);
      break;
    case PROP_MODE:
      self->mode = (GstEfficientAdMode) g_value_get_enum (value);
      break;
    case PROP_THRESHOLD:
      self->threshold = g_value_get_float (value);
      break;
    case PROP_INFERENCE_INTERVAL:
      self->inference_interval = g_value_get_uint (value);
      break;
    case PROP_ROI:{
      GstVideoRectangle roi;
      if (efficientad::gst::parse_roi (g_value_get_string (value), &roi)) {
        g_free (self->roi_text);
        self->roi_text = g_value_dup_string (value);
        self->roi = roi;
        self->warned_roi = FALSE;
      } else {
        GST_WARNING_OBJECT (self, "ignoring roi '%s': expected x,y,width,height with width and height > 0",
            g_value_get_string (value));
      }
      break;
    }
    case PROP_POST_MESSAGES:
      self->post_messages = (GstEfficientAdMessages) g_value_get_enum (value);
      break;
    case PROP_ALARM_ON_FRAMES:
      self->alarm_on_frames = g_value_get_uint (value);
      break;
    case PROP_ALARM_OFF_FRAMES:
      self->alarm_off_frames = g_value_get_uint (value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_efficientad_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstEfficientAd *self = GST_EFFICIENTAD (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL_FILE:
      g_value_set_string (value, self->model_file);
      break;
    case PROP_DEVICE:
      g_value_set_enum (value, self->device);
      break;
    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;
    case PROP_THRESHOLD:
      g_value_set_float (value, self->threshold >= 0 || !self->detector ? self->threshold : self->model_threshold);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_uint (value, self->inference_interval);
      break;
    case PROP_ROI:
      g_value_set_string (value, self->roi_text ? self->roi_text : "");
      break;
    case PROP_POST_MESSAGES:
      g_value_set_enum (value, self->post_messages);
      break;
    case PROP_ALARM_ON_FRAMES:
      g_value_set_uint (value, self->alarm_on_frames);
      break;
    case PROP_ALARM_OFF_FRAMES:
      g_value_set_uint (value, self->alarm_off_frames);
      break;
    case PROP_THREADS:
      g_value_set_uint (value, self->threads);
      break;
    case PROP_MODEL_ID:
      g_value_set_string (value, self->model_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_efficientad_start (GstBaseTransform * trans)
{
  GstEfficientAd *self = GST_EFFICIENTAD (trans);

  GST_OBJECT_LOCK (self);
  gchar *path = g_strdup (self->model_file);
  const efficientad::DetectorOptions options = detector_options (self);
  GST_OBJECT_UNLOCK (self);

  if (path == NULL || *path == '\0') {
    g_free (path);
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No model file set: set the model-file property to a model written by 'efficientad train'."), (NULL));
    return FALSE;
  }
  efficientad::Detector *detector = nullptr;
  try {
    detector = new efficientad::Detector (path, options);
  } catch (const efficientad::ModelFileError & e) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("%s", e.what ()), ("model-file=%s", path));
  } catch (const efficientad::DeviceError & e) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", e.what ()), ("device property"));
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("Cannot start anomaly detection: %s", e.what ()), ("model-file=%s", path));
  }
  if (detector == nullptr) {
    g_free (path);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "loaded %s: model %s, EfficientAD-%s, %dx%d, %s mode on %s", path,
      detector->info ().model_id.c_str (), efficientad::variant_name (detector->info ().geometry.variant),
      detector->info ().geometry.input_width, detector->info ().geometry.input_height,
      efficientad::mode_name (detector->mode ()), efficientad::device_name (detector->device ()));
  g_free (path);

  GST_OBJECT_LOCK (self);
  self->detector = detector;
  self->model_id = g_strdup (detector->info ().model_id.c_str ());
  self->model_threshold = detector->info ().threshold;
  GST_OBJECT_UNLOCK (self);
  self->frame_number = 0;
  self->anomalous_run = self->normal_run = 0;
  self->alarm = FALSE;
  self->last_pts = GST_CLOCK_TIME_NONE;
  self->warned_buffer = FALSE;
  return TRUE;
}

static gboolean
gst_efficientad_stop (GstBaseTransform * trans)
{
  GstEfficientAd *self = GST_EFFICIENTAD (trans);

  GST_OBJECT_LOCK (self);
  efficientad::Detector *detector = self->detector;
  self->detector = nullptr;  /* no new loaders from here on */
  self->model_generation++;  /* and the running ones are superseded */
  std::vector<ModelLoader> loaders = std::move (*self->loaders);
  self->loaders->clear ();
  g_clear_pointer (&self->model_id, g_free);
  GST_OBJECT_UNLOCK (self);
  for (ModelLoader & loader : loaders)
    loader.thread.join ();
  delete detector;
  GST_OBJECT_LOCK (self);
  delete self->pending;
  self->pending = nullptr;
  g_clear_pointer (&self->pending_path, g_free);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static void
post_anomaly_message (GstEfficientAd * self, const gchar * event, GstClockTime pts, gfloat score,
    gfloat threshold, gboolean anomalous, guint64 frame)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  const GstClockTime running_time = GST_CLOCK_TIME_IS_VALID (pts)
      ? gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME, pts) : GST_CLOCK_TIME_NONE;
  GstStructure *s = gst_structure_new ("anomaly",
      "event", G_TYPE_STRING, event,
      "timestamp", G_TYPE_UINT64, (guint64) pts,
      "running-time", G_TYPE_UINT64, (guint64) running_time,
      "score", G_TYPE_FLOAT, score,
      "threshold", G_TYPE_FLOAT, threshold,
      "anomalous", G_TYPE_BOOLEAN, anomalous,
      "frame", G_TYPE_UINT64, frame,
      "model-id", G_TYPE_STRING, self->model_id, NULL);
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

/* The rectangle to analyse: the roi clipped to the frame (warns once when the roi misses the frames). */
static GstVideoRectangle
analysed_region (GstEfficientAd * self, const GstVideoRectangle & roi, gint width, gint height, gboolean yuv)
{
  bool outside;
  const GstVideoRectangle r = efficientad::gst::clip_region (roi, width, height, yuv, &outside);
  if (outside && !self->warned_roi) {
    self->warned_roi = TRUE;
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("The roi %d,%d,%d,%d lies outside the %dx%d frames; analysing whole frames.", roi.x, roi.y, roi.w, roi.h,
            width, height), (NULL));
  }
  return r;
}

static GstFlowReturn
gst_efficientad_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstEfficientAd *self = GST_EFFICIENTAD (trans);
  GstVideoFilter *filter = GST_VIDEO_FILTER (trans);

  GST_OBJECT_LOCK (self);
  const gboolean model_waiting = self->pending != nullptr;
  GST_OBJECT_UNLOCK (self);
  if (model_waiting)
    swap_in_pending_model (self);

  GST_OBJECT_LOCK (self);
  const guint interval = self->inference_interval;
  const gfloat threshold = self->threshold >= 0 ? self->threshold : self->model_threshold;
  const GstVideoRectangle roi = self->roi;
  const GstEfficientAdMessages messages = self->post_messages;
  const guint on_frames = self->alarm_on_frames, off_frames = self->alarm_off_frames;
  GST_OBJECT_UNLOCK (self);

  const guint64 number = self->frame_number++;
  if (number % interval != 0)
    return GST_FLOW_OK;
  if (gst_buffer_get_size (buffer) == 0) {
    GST_DEBUG_OBJECT (self, "empty buffer (a gap?): passed on without analysis");
    return GST_FLOW_OK;
  }
  /* Read-only: the pixels are never written, so shared memory is not copied. */
  GstVideoFrame frame;
  if (!gst_video_frame_map (&frame, &filter->in_info, buffer, GST_MAP_READ)) {
    if (!self->warned_buffer) {
      self->warned_buffer = TRUE;
      GST_ELEMENT_WARNING (self, STREAM, FORMAT,
          ("A %" G_GSIZE_FORMAT "-byte buffer does not hold a frame of the negotiated format (%" G_GSIZE_FORMAT
              " bytes); such frames are passed on without analysis.", gst_buffer_get_size (buffer),
              GST_VIDEO_INFO_SIZE (&filter->in_info)), (NULL));
    }
    return GST_FLOW_OK;
  }

  const efficientad::ImageView view = efficientad::gst::view_of<efficientad::ImageView> (&frame);
  const GstVideoRectangle region = analysed_region (self, roi, view.width, view.height, efficientad::is_yuv (view.format));
  const efficientad::ModelGeometry &geometry = self->detector->info ().geometry;
  efficientad::MapOptions options;
  options.map_width = geometry.input_width;  /* the map's own resolution; `region` places it in the frame */
  options.map_height = geometry.input_height;
  efficientad::Detection detection;
  try {
    self->detector->set_threshold (threshold);
    detection = self->detector->detect (view.crop (region.x, region.y, region.w, region.h), options);
  } catch (const std::exception & e) {
    gst_video_frame_unmap (&frame);
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Anomaly detection failed on frame %" G_GUINT64_FORMAT ": %s",
            number, e.what ()), (NULL));
    return GST_FLOW_ERROR;
  }
  gst_video_frame_unmap (&frame);

  gst_buffer_add_anomaly_meta (buffer, detection.score, threshold, detection.anomalous, detection.map.values.data (),
      (guint) detection.map.width, (guint) detection.map.height, &region, self->model_id, number);
  GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT ": score %.4f (threshold %.4f)", number, detection.score, threshold);

  /* Edge-triggered alarm with hysteresis counted in analysed frames. */
  const gchar *edge = NULL;
  if (detection.anomalous) {
    self->normal_run = 0;
    if (++self->anomalous_run >= on_frames && !self->alarm) {
      self->alarm = TRUE;
      edge = "begin";
    }
  } else {
    self->anomalous_run = 0;
    if (++self->normal_run >= off_frames && self->alarm) {
      self->alarm = FALSE;
      edge = "end";
    }
  }
  self->last_pts = GST_BUFFER_PTS (buffer);
  if (edge && messages != GST_EFFICIENTAD_MESSAGES_NONE)
    post_anomaly_message (self, edge, self->last_pts, detection.score, threshold, detection.anomalous, number);
  if (messages == GST_EFFICIENTAD_MESSAGES_ALL)
    post_anomaly_message (self, "frame", self->last_pts, detection.score, threshold, detection.anomalous, number);
  return GST_FLOW_OK;
}

static gboolean
gst_efficientad_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstEfficientAd *self = GST_EFFICIENTAD (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && self->alarm) {
    GST_OBJECT_LOCK (self);
    const gboolean post = self->post_messages != GST_EFFICIENTAD_MESSAGES_NONE;
    const gfloat threshold = self->threshold >= 0 ? self->threshold : self->model_threshold;
    GST_OBJECT_UNLOCK (self);
    self->alarm = FALSE;
    if (post)
      post_anomaly_message (self, "end", self->last_pts, 0.0f, threshold, FALSE, self->frame_number);
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static void
gst_efficientad_finalize (GObject * object)
{
  GstEfficientAd *self = GST_EFFICIENTAD (object);

  for (ModelLoader & loader : *self->loaders)  /* none unless stop() never ran */
    loader.thread.join ();
  delete self->loaders;
  delete self->pending;
  g_free (self->pending_path);
  delete self->detector;
  g_free (self->model_file);
  g_free (self->roi_text);
  g_free (self->model_id);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_efficientad_class_init (GstEfficientAdClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const GParamFlags rw = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const GParamFlags rw_playing = (GParamFlags) (rw | GST_PARAM_MUTABLE_PLAYING);
  const GParamFlags rw_ready = (GParamFlags) (rw | GST_PARAM_MUTABLE_READY);

  gobject_class->set_property = gst_efficientad_set_property;
  gobject_class->get_property = gst_efficientad_get_property;
  gobject_class->finalize = gst_efficientad_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL_FILE,
      g_param_spec_string ("model-file", "Model file",
          "Model written by 'efficientad train' (.efad); loaded when the element starts. Set while playing to swap "
          "models without stopping: the new one loads in the background and takes over between two frames; a "
          "'model-updated' element message reports success or why it was refused (the old model then keeps running)",
          NULL, rw_playing));
  g_object_class_install_property (gobject_class, PROP_DEVICE,
      g_param_spec_enum ("device", "Device", "Where the networks run (applies at start)",
          GST_TYPE_EFFICIENTAD_DEVICE, DEFAULT_DEVICE, rw_ready));
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode", "Inference precision (applies at start)", GST_TYPE_EFFICIENTAD_MODE,
          DEFAULT_MODE, rw_ready));
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_float ("threshold", "Threshold",
          "Image score above which a frame is anomalous, in normalised map units (0.1 = the 99.5 % quantile of "
          "normal pixels); -1 uses the model's calibrated threshold, which reading the property then returns. "
          "Can be changed while playing", -1.0f, G_MAXFLOAT, DEFAULT_THRESHOLD, rw_playing));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint ("inference-interval", "Inference interval",
          "Analyse every Nth frame (frames in between pass on without meta)", 1, G_MAXUINT,
          DEFAULT_INFERENCE_INTERVAL, rw_playing));
  g_object_class_install_property (gobject_class, PROP_ROI,
      g_param_spec_string ("roi", "Region of interest",
          "Rectangle of the frame to inspect, \"x,y,width,height\" in pixels; empty for the whole frame. Clipped "
          "to the frame", "", rw_playing));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_enum ("post-messages", "Post messages", "Which 'anomaly' element messages go to the bus",
          GST_TYPE_EFFICIENTAD_MESSAGES, DEFAULT_POST_MESSAGES, rw_playing));
  g_object_class_install_property (gobject_class, PROP_ALARM_ON_FRAMES,
      g_param_spec_uint ("alarm-on-frames", "Alarm on frames",
          "Consecutive anomalous analysed frames before a 'begin' message", 1, G_MAXUINT, DEFAULT_ALARM_ON_FRAMES,
          rw_playing));
  g_object_class_install_property (gobject_class, PROP_ALARM_OFF_FRAMES,
      g_param_spec_uint ("alarm-off-frames", "Alarm off frames",
          "Consecutive normal analysed frames before an 'end' message", 1, G_MAXUINT, DEFAULT_ALARM_OFF_FRAMES,
          rw_playing));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_uint ("threads", "Threads", "CPU threads for the networks; 0 = one per core (applies at start)",
          0, 1024, DEFAULT_THREADS, rw_ready));
  g_object_class_install_property (gobject_class, PROP_MODEL_ID,
      g_param_spec_string ("model-id", "Model id", "Identifier of the loaded model (read-only)", NULL,
          (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_set_static_metadata (element_class, "EfficientAD anomaly detector", "Filter/Analyzer/Video",
      "Detects visual anomalies with an EfficientAD model and attaches anomaly maps and scores as metadata",
      "gst-efficientad maintainers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_efficientad_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_efficientad_stop);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_efficientad_transform_ip);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_efficientad_sink_event);

  gst_type_mark_as_plugin_api (GST_TYPE_EFFICIENTAD_DEVICE, (GstPluginAPIFlags) 0);
  gst_type_mark_as_plugin_api (GST_TYPE_EFFICIENTAD_MODE, (GstPluginAPIFlags) 0);
  gst_type_mark_as_plugin_api (GST_TYPE_EFFICIENTAD_MESSAGES, (GstPluginAPIFlags) 0);
  GST_DEBUG_CATEGORY_INIT (gst_efficientad_debug, "efficientad", 0, "EfficientAD anomaly detector");
}

static void
gst_efficientad_init (GstEfficientAd * self)
{
  self->device = DEFAULT_DEVICE;
  self->mode = DEFAULT_MODE;
  self->threshold = DEFAULT_THRESHOLD;
  self->inference_interval = DEFAULT_INFERENCE_INTERVAL;
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->alarm_on_frames = DEFAULT_ALARM_ON_FRAMES;
  self->alarm_off_frames = DEFAULT_ALARM_OFF_FRAMES;
  self->threads = DEFAULT_THREADS;
  self->loaders = new std::vector<ModelLoader> ();
  /* Inspection must not skip frames: QoS dropping is opt-in (qos=true) for live previews. */
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
}
