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
 * `score`, `threshold` (gfloat), `anomalous` (gboolean), `frame` (guint64), `model-id` (string), `regions`
 * (guint, the frame's defect regions) and, when there is one, `largest-region` (a `region` structure: `x`, `y`,
 * `width`, `height` in frame pixels, `area` (guint64 pixels), `peak`, `mean`).
 *
 * Defect regions are the 8-connected parts of the map above the threshold with at least
 * #GstEfficientAd:min-region-area frame pixels, the largest #GstEfficientAd:max-regions of them. Each is an entry
 * of the #GstAnomalyMeta (box, area, peak, mean) and a standard #GstVideoRegionOfInterestMeta of type "anomaly"
 * (id = its rank, 0 the largest) with an "anomaly" parameter structure (`area`, `peak`, `mean`, `score`,
 * `model-id`), which any element or application reading ROI metadata sees.
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

#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "alarmstate.h"
#include "defectregions.h"
#include "efficientad/detector.h"
#include "efficientad/errors.h"
#include "gstefficientadcommon.h"
#include "meta/gstanomalymeta.h"
#include "modelswap.h"
#include "videoframe.h"

GST_DEBUG_CATEGORY_STATIC (gst_efficientad_debug);
#define GST_CAT_DEFAULT gst_efficientad_debug

enum {
  PROP_0,
  PROP_MODEL_FILE,
  PROP_COMMON_FIRST,  /* device, mode, threads, roi: gstefficientadcommon.h */
  PROP_THRESHOLD = PROP_COMMON_FIRST + efficientad::gst::kCommonProperties,
  PROP_INFERENCE_INTERVAL,
  PROP_POST_MESSAGES,
  PROP_ALARM_ON_FRAMES,
  PROP_ALARM_OFF_FRAMES,
  PROP_MODEL_ID,
  PROP_MIN_REGION_AREA,
  PROP_MAX_REGIONS,
};

#define DEFAULT_THRESHOLD (-1.0f)
#define DEFAULT_INFERENCE_INTERVAL 1
#define DEFAULT_POST_MESSAGES GST_EFFICIENTAD_MESSAGES_EDGES
#define DEFAULT_ALARM_ON_FRAMES 1
#define DEFAULT_ALARM_OFF_FRAMES 3
#define DEFAULT_MIN_REGION_AREA 16
#define DEFAULT_MAX_REGIONS 16

namespace {

/* The element's state; C++ members own what they hold. */
struct Private {
  /* Properties, under the object lock. */
  std::optional<std::string> model_file; /* unset: NULL, as GObject reports it */
  efficientad::gst::CommonSettings common;
  gfloat threshold = DEFAULT_THRESHOLD; /* < 0: the model's calibrated threshold */
  guint inference_interval = DEFAULT_INFERENCE_INTERVAL;
  GstEfficientAdMessages post_messages = DEFAULT_POST_MESSAGES;
  guint alarm_on_frames = DEFAULT_ALARM_ON_FRAMES, alarm_off_frames = DEFAULT_ALARM_OFF_FRAMES;
  guint min_region_area = DEFAULT_MIN_REGION_AREA, max_regions = DEFAULT_MAX_REGIONS;

  /* Between start() and stop(): the engine and the model it holds, under the object lock. Replaced only by the
   * streaming thread (live model swap) and by start()/stop(). */
  std::unique_ptr<efficientad::Detector> detector;
  std::string model_id;
  gfloat model_threshold = 0;
  /* Shared so that a model-file set can request a swap after releasing the object lock (the request may post a
   * 'superseded' message, which takes that lock) while stop() drops the element's reference. */
  std::shared_ptr<efficientad::gst::ModelSwap> swap;

  /* Streaming thread only. */
  guint64 frame_number = 0;
  efficientad::gst::AlarmState alarm;
  GstClockTime last_pts = GST_CLOCK_TIME_NONE; /* of the last analysed frame: the time of an alarm ended by EOS */
  efficientad::gst::RoiWarning roi_warning;
  gboolean warned_buffer = FALSE;

  /* Object lock held. */
  gfloat effective_threshold () const { return threshold >= 0 ? threshold : model_threshold; }
};

}  // namespace

struct _GstEfficientAd {
  GstVideoFilter parent;
  Private *priv;
};

#define gst_efficientad_parent_class parent_class
G_DEFINE_TYPE (GstEfficientAd, gst_efficientad, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (efficientad, "efficientad", GST_RANK_NONE, GST_TYPE_EFFICIENTAD);

#define GST_TYPE_EFFICIENTAD_MESSAGES (gst_efficientad_messages_get_type ())
static GType
gst_efficientad_messages_get_type (void)
{
  static const GEnumValue values[] = {
    {GST_EFFICIENTAD_MESSAGES_NONE, "No messages", "none"},
    {GST_EFFICIENTAD_MESSAGES_EDGES, "When an anomaly begins and ends", "edges"},
    {GST_EFFICIENTAD_MESSAGES_ALL, "Begin and end, and one per analysed frame", "all"},
    {0, NULL, NULL},
  };
  static const GType type = g_enum_register_static ("GstEfficientAdMessages", values);
  return type;
}

/* `model_id` and `frame` (the first frame the new model analyses) on success, `error` otherwise. */
static void
post_model_updated (GstEfficientAd * self, const std::string & path, const gchar * model_id, guint64 frame,
    const gchar * error)
{
  GstStructure *s = gst_structure_new ("model-updated", "model-file", G_TYPE_STRING, path.c_str (),
      "success", G_TYPE_BOOLEAN, error == NULL, NULL);
  if (model_id)
    gst_structure_set (s, "model-id", G_TYPE_STRING, model_id, "frame", G_TYPE_UINT64, frame, NULL);
  if (error)
    gst_structure_set (s, "error", G_TYPE_STRING, error, NULL);
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

/* A live swap that will not happen: the current model keeps running. */
static void
model_refused (GstEfficientAd * self, const std::string & path, const std::string & error, bool load_failed)
{
  if (load_failed)
    GST_ELEMENT_WARNING (self, RESOURCE, OPEN_READ, ("Model not swapped, the current model keeps running: %s",
            error.c_str ()), ("model-file=%s", path.c_str ()));
  post_model_updated (self, path, NULL, 0, error.c_str ());
}

/* Streaming thread: puts a model that finished loading in place, between two frames. */
static void
swap_in_loaded_model (GstEfficientAd * self)
{
  Private *p = self->priv;
  std::string path;
  std::unique_ptr<efficientad::Detector> loaded = p->swap->take_loaded (&path);
  if (!loaded)
    return;
  GST_OBJECT_LOCK (self);
  std::unique_ptr<efficientad::Detector> retired = std::move (p->detector);
  p->detector = std::move (loaded);
  p->model_id = p->detector->info ().model_id;
  p->model_threshold = p->detector->calibrated_threshold ();
  const std::string model_id = p->model_id;
  GST_OBJECT_UNLOCK (self);
  retired.reset ();
  GST_INFO_OBJECT (self, "swapped in model %s from %s", model_id.c_str (), path.c_str ());
  post_model_updated (self, path, model_id.c_str (), p->frame_number, NULL);
}

static void
gst_efficientad_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstEfficientAd *self = GST_EFFICIENTAD (object);
  Private *p = self->priv;

  std::shared_ptr<efficientad::gst::ModelSwap> swap;  /* set when a running element gets a new model-file */
  std::string requested;
  GST_OBJECT_LOCK (self);
  std::string refusal;
  if (efficientad::gst::set_common_property (p->common, PROP_COMMON_FIRST, prop_id, value, &refusal)) {
    GST_OBJECT_UNLOCK (self);
    efficientad::gst::warn_refused_setting (GST_ELEMENT (self), refusal);
    return;
  }
  switch (prop_id) {
    case PROP_MODEL_FILE:{
      const gchar *path = g_value_get_string (value);
      p->model_file = path ? std::optional<std::string> (path) : std::nullopt;
      swap = p->swap;
      requested = p->model_file.value_or ("");
      break;
    }
    case PROP_THRESHOLD:
      p->threshold = g_value_get_float (value);
      break;
    case PROP_INFERENCE_INTERVAL:
      p->inference_interval = g_value_get_uint (value);
      break;
    case PROP_POST_MESSAGES:
      p->post_messages = (GstEfficientAdMessages) g_value_get_enum (value);
      break;
    case PROP_ALARM_ON_FRAMES:
      p->alarm_on_frames = g_value_get_uint (value);
      break;
    case PROP_ALARM_OFF_FRAMES:
      p->alarm_off_frames = g_value_get_uint (value);
      break;
    case PROP_MIN_REGION_AREA:
      p->min_region_area = g_value_get_uint (value);
      break;
    case PROP_MAX_REGIONS:
      p->max_regions = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
  if (swap)
    swap->request (requested);
}

static void
gst_efficientad_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstEfficientAd *self = GST_EFFICIENTAD (object);
  const Private *p = self->priv;

  GST_OBJECT_LOCK (self);
  if (efficientad::gst::get_common_property (p->common, PROP_COMMON_FIRST, prop_id, value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_MODEL_FILE:
      g_value_set_string (value, p->model_file ? p->model_file->c_str () : NULL);
      break;
    case PROP_THRESHOLD:
      g_value_set_float (value, p->detector ? p->effective_threshold () : p->threshold);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_uint (value, p->inference_interval);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_enum (value, p->post_messages);
      break;
    case PROP_ALARM_ON_FRAMES:
      g_value_set_uint (value, p->alarm_on_frames);
      break;
    case PROP_ALARM_OFF_FRAMES:
      g_value_set_uint (value, p->alarm_off_frames);
      break;
    case PROP_MIN_REGION_AREA:
      g_value_set_uint (value, p->min_region_area);
      break;
    case PROP_MAX_REGIONS:
      g_value_set_uint (value, p->max_regions);
      break;
    case PROP_MODEL_ID:
      g_value_set_string (value, p->model_id.empty () ? NULL : p->model_id.c_str ());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* The detector for `path`, or null after posting an error that says what to do. */
static std::unique_ptr<efficientad::Detector>
load_detector (GstEfficientAd * self, const std::string & path, const efficientad::DetectorOptions & options)
{
  if (path.empty ()) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No model file set: set the model-file property to a model written by 'efficientad train'."), (NULL));
    return nullptr;
  }
  try {
    return std::make_unique<efficientad::Detector> (path, options);
  } catch (const efficientad::ModelFileError & e) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("%s", e.what ()), ("model-file=%s", path.c_str ()));
  } catch (const efficientad::DeviceError & e) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", e.what ()), ("device property"));
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("Cannot start anomaly detection: %s", e.what ()),
        ("model-file=%s", path.c_str ()));
  }
  return nullptr;
}

static gboolean
gst_efficientad_start (GstBaseTransform * trans)
{
  GstEfficientAd *self = GST_EFFICIENTAD (trans);
  Private *p = self->priv;

  GST_OBJECT_LOCK (self);
  const std::string path = p->model_file.value_or ("");
  const efficientad::gst::CommonSettings common = p->common;
  GST_OBJECT_UNLOCK (self);
  if (!efficientad::gst::check_common_settings (GST_ELEMENT (self), common))
    return FALSE;
  const efficientad::DetectorOptions options = efficientad::gst::detector_options (common);

  std::unique_ptr<efficientad::Detector> detector = load_detector (self, path, options);
  if (!detector)
    return FALSE;
  const efficientad::ModelInfo &info = detector->info ();
  GST_INFO_OBJECT (self, "loaded %s: model %s, EfficientAD-%s, %dx%d, %s mode on %s", path.c_str (),
      info.model_id.c_str (), efficientad::variant_name (info.geometry.variant), info.geometry.input_width,
      info.geometry.input_height, efficientad::mode_name (detector->mode ()),
      efficientad::device_name (detector->device ()));
  auto swap = std::make_shared<efficientad::gst::ModelSwap> (
      [options] (const std::string & file) { return std::make_unique<efficientad::Detector> (file, options); },
      [self] (const std::string & file, const std::string & error, bool load_failed) {
        model_refused (self, file, error, load_failed);
      });

  GST_OBJECT_LOCK (self);
  p->model_id = info.model_id;
  p->model_threshold = detector->calibrated_threshold ();
  p->detector = std::move (detector);
  p->swap = std::move (swap);
  GST_OBJECT_UNLOCK (self);
  p->frame_number = 0;
  p->alarm = efficientad::gst::AlarmState ();
  p->last_pts = GST_CLOCK_TIME_NONE;
  p->warned_buffer = FALSE;
  return TRUE;
}

static gboolean
gst_efficientad_stop (GstBaseTransform * trans)
{
  GstEfficientAd *self = GST_EFFICIENTAD (trans);
  Private *p = self->priv;

  GST_OBJECT_LOCK (self);
  std::shared_ptr<efficientad::gst::ModelSwap> swap = std::move (p->swap);  /* no new loads from here on */
  std::unique_ptr<efficientad::Detector> detector = std::move (p->detector);
  p->model_id.clear ();
  GST_OBJECT_UNLOCK (self);
  if (swap)
    swap->stop ();  /* waits for a running load; drops what it loaded; later requests are ignored */
  detector.reset ();
  return TRUE;
}

/* `regions`: those of the frame, largest first (none for the end of an alarm at EOS). */
static void
post_anomaly_message (GstEfficientAd * self, const gchar * event, GstClockTime pts, gfloat score,
    gfloat threshold, gboolean anomalous, guint64 frame, const std::vector<GstAnomalyRegion> & regions)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  const GstClockTime running_time = GST_CLOCK_TIME_IS_VALID (pts)
      ? gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME, pts) : GST_CLOCK_TIME_NONE;
  GST_OBJECT_LOCK (self);
  const std::string model_id = self->priv->model_id;
  GST_OBJECT_UNLOCK (self);
  GstStructure *s = gst_structure_new ("anomaly",
      "event", G_TYPE_STRING, event,
      "timestamp", G_TYPE_UINT64, (guint64) pts,
      "running-time", G_TYPE_UINT64, (guint64) running_time,
      "score", G_TYPE_FLOAT, score,
      "threshold", G_TYPE_FLOAT, threshold,
      "anomalous", G_TYPE_BOOLEAN, anomalous,
      "frame", G_TYPE_UINT64, frame,
      "model-id", G_TYPE_STRING, model_id.c_str (),
      "regions", G_TYPE_UINT, (guint) regions.size (), NULL);
  if (!regions.empty ()) {
    GstStructure *largest = efficientad::gst::region_structure (regions.front ());
    gst_structure_set (s, "largest-region", GST_TYPE_STRUCTURE, largest, NULL);
    gst_structure_free (largest);
  }
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

/* What one analysed frame needs from the properties, read once under the object lock. */
struct FrameSettings {
  guint interval;
  gfloat threshold;
  GstVideoRectangle roi;
  guint roi_serial;
  GstEfficientAdMessages messages;
  guint on_frames, off_frames;
  guint min_region_area, max_regions;
  std::string model_id;
};

static FrameSettings
frame_settings (GstEfficientAd * self)
{
  const Private *p = self->priv;
  GST_OBJECT_LOCK (self);
  FrameSettings s{p->inference_interval, p->effective_threshold (), p->common.roi, p->common.roi_serial,
    p->post_messages, p->alarm_on_frames, p->alarm_off_frames, p->min_region_area, p->max_regions, p->model_id};
  GST_OBJECT_UNLOCK (self);
  return s;
}

/* Maps the buffer read-only (shared memory is not copied); warns once about buffers that hold no frame. */
static gboolean
map_frame (GstEfficientAd * self, GstBuffer * buffer, GstVideoFrame * frame)
{
  GstVideoFilter *filter = GST_VIDEO_FILTER (self);
  if (gst_video_frame_map (frame, &filter->in_info, buffer, GST_MAP_READ))
    return TRUE;
  if (!self->priv->warned_buffer) {
    self->priv->warned_buffer = TRUE;
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("A %" G_GSIZE_FORMAT "-byte buffer does not hold a frame of the negotiated format (%" G_GSIZE_FORMAT
            " bytes); such frames are passed on without analysis.", gst_buffer_get_size (buffer),
            GST_VIDEO_INFO_SIZE (&filter->in_info)), (NULL));
  }
  return FALSE;
}

/* Runs the detector on the analysed rectangle of the frame; the map keeps the model's own resolution (`region`
 * places it in the frame). */
static gboolean
detect_in_frame (GstEfficientAd * self, GstVideoFrame * frame, const FrameSettings & s, guint64 number,
    GstVideoRectangle * region, efficientad::Detection * detection)
{
  Private *p = self->priv;
  const efficientad::ImageView view = efficientad::gst::view_of<efficientad::ImageView> (frame);
  *region = efficientad::gst::clip_roi_or_warn (GST_ELEMENT (self), s.roi, s.roi_serial, view.width, view.height,
      efficientad::is_yuv (view.format), p->roi_warning, "analysing whole frames");
  const efficientad::ModelGeometry &geometry = p->detector->info ().geometry;
  efficientad::MapOptions options;
  options.map_width = geometry.input_width;
  options.map_height = geometry.input_height;
  try {
    p->detector->set_threshold (s.threshold);
    *detection = p->detector->detect (view.crop (region->x, region->y, region->w, region->h), options);
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Anomaly detection failed on frame %" G_GUINT64_FORMAT ": %s",
            number, e.what ()), (NULL));
    return FALSE;
  }
  return TRUE;
}

/* The alarm edge of this frame (if any) and, with post-messages=all, one message per frame. */
static void
post_frame_messages (GstEfficientAd * self, const FrameSettings & s, const efficientad::Detection & d,
    guint64 number, efficientad::gst::AlarmState::Edge edge, const std::vector<GstAnomalyRegion> & regions)
{
  using Edge = efficientad::gst::AlarmState::Edge;
  Private *p = self->priv;
  if (edge != Edge::None && s.messages != GST_EFFICIENTAD_MESSAGES_NONE)
    post_anomaly_message (self, edge == Edge::Begin ? "begin" : "end", p->last_pts, d.score, s.threshold,
        d.anomalous, number, regions);
  if (s.messages == GST_EFFICIENTAD_MESSAGES_ALL)
    post_anomaly_message (self, "frame", p->last_pts, d.score, s.threshold, d.anomalous, number, regions);
}

static GstFlowReturn
gst_efficientad_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstEfficientAd *self = GST_EFFICIENTAD (trans);
  Private *p = self->priv;

  if (p->swap->has_loaded ())
    swap_in_loaded_model (self);
  const FrameSettings s = frame_settings (self);
  const guint64 number = p->frame_number++;
  if (number % s.interval != 0)
    return GST_FLOW_OK;
  if (gst_buffer_get_size (buffer) == 0) {
    GST_DEBUG_OBJECT (self, "empty buffer (a gap?): passed on without analysis");
    return GST_FLOW_OK;
  }
  GstVideoFrame frame;
  if (!map_frame (self, buffer, &frame))
    return GST_FLOW_OK;
  GstVideoRectangle region;
  efficientad::Detection detection;
  const gboolean ok = detect_in_frame (self, &frame, s, number, &region, &detection);
  gst_video_frame_unmap (&frame);
  if (!ok)
    return GST_FLOW_ERROR;

  GstAnomalyMeta *meta = gst_buffer_add_anomaly_meta (buffer, detection.score, s.threshold, detection.anomalous,
      detection.map.values.data (), (guint) detection.map.width, (guint) detection.map.height, &region,
      s.model_id.c_str (), number);
  const std::vector<GstAnomalyRegion> regions = efficientad::gst::frame_regions (detection, region, s.threshold,
      s.min_region_area, s.max_regions);
  gst_anomaly_meta_set_regions (meta, regions.data (), (guint) regions.size ());
  efficientad::gst::add_region_of_interest_metas (buffer, regions, detection.score, s.model_id);
  const efficientad::gst::AlarmState::Edge edge = p->alarm.update (detection.anomalous, s.on_frames, s.off_frames);
  meta->alarm = p->alarm.active ();
  GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT ": score %.4f (threshold %.4f), %zu regions", number,
      detection.score, s.threshold, regions.size ());
  p->last_pts = GST_BUFFER_PTS (buffer);
  post_frame_messages (self, s, detection, number, edge, regions);
  return GST_FLOW_OK;
}

static gboolean
gst_efficientad_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstEfficientAd *self = GST_EFFICIENTAD (trans);
  Private *p = self->priv;

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS &&
      p->alarm.end_of_stream () == efficientad::gst::AlarmState::Edge::End) {
    const FrameSettings s = frame_settings (self);
    if (s.messages != GST_EFFICIENTAD_MESSAGES_NONE)
      post_anomaly_message (self, "end", p->last_pts, 0.0f, s.threshold, FALSE, p->frame_number, {});
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static void
gst_efficientad_finalize (GObject * object)
{
  GstEfficientAd *self = GST_EFFICIENTAD (object);

  delete self->priv;  /* stops a model swap still loading (only if stop() never ran) */
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
install_properties (GObjectClass * gobject_class)
{
  const GParamFlags rw = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const GParamFlags rw_playing = (GParamFlags) (rw | GST_PARAM_MUTABLE_PLAYING);
  const GParamFlags rw_ready = (GParamFlags) (rw | GST_PARAM_MUTABLE_READY);

  g_object_class_install_property (gobject_class, PROP_MODEL_FILE,
      g_param_spec_string ("model-file", "Model file",
          "Model written by 'efficientad train' (.efad); loaded when the element starts. Set while playing to swap "
          "models without stopping: the new one loads in the background and takes over between two frames; a "
          "'model-updated' element message reports success or why it was refused (the old model then keeps running)",
          NULL, rw_playing));
  efficientad::gst::install_common_properties (gobject_class, PROP_COMMON_FIRST, {
        {"Where the networks run (applies at start)", rw_ready},
        {"Inference precision (applies at start)", rw_ready},
        {"CPU threads for the networks (applies at start); 0 = one per core that other work leaves free, re-checked every second", rw_ready},
        {"Rectangle of the frame to inspect, \"x,y,width,height\" in pixels; empty for the whole frame. Clipped "
              "to the frame", rw_playing}});
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_float ("threshold", "Threshold",
          "Image score above which a frame is anomalous, in normalised map units (0.1 = the 99.5 % quantile of "
          "normal pixels); -1 uses the model's calibrated threshold for the maps this element computes (its int8 "
          "one in fast mode on a CPU, where the model has one), which reading the property then returns. "
          "Can be changed while playing", -1.0f, G_MAXFLOAT, DEFAULT_THRESHOLD, rw_playing));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint ("inference-interval", "Inference interval",
          "Analyse every Nth frame (frames in between pass on without meta)", 1, G_MAXUINT,
          DEFAULT_INFERENCE_INTERVAL, rw_playing));
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
  g_object_class_install_property (gobject_class, PROP_MIN_REGION_AREA,
      g_param_spec_uint ("min-region-area", "Minimum region area",
          "Smallest defect region reported, in frame pixels above the threshold (connected with 8-connectivity); "
          "each becomes a GstVideoRegionOfInterestMeta of type 'anomaly' and an entry of the GstAnomalyMeta",
          1, G_MAXUINT, DEFAULT_MIN_REGION_AREA, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MAX_REGIONS,
      g_param_spec_uint ("max-regions", "Maximum regions",
          "Most defect regions reported per frame, the largest first (0: none)", 0, 1024, DEFAULT_MAX_REGIONS,
          rw_playing));
  g_object_class_install_property (gobject_class, PROP_MODEL_ID,
      g_param_spec_string ("model-id", "Model id", "Identifier of the loaded model (read-only)", NULL,
          (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
}

static void
gst_efficientad_class_init (GstEfficientAdClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_efficientad_set_property;
  gobject_class->get_property = gst_efficientad_get_property;
  gobject_class->finalize = gst_efficientad_finalize;
  install_properties (gobject_class);

  gst_element_class_set_static_metadata (element_class, "EfficientAD anomaly detector", "Filter/Analyzer/Video",
      "Detects visual anomalies with an EfficientAD model and attaches anomaly maps and scores as metadata",
      "gst-efficientad maintainers");
  efficientad::gst::add_video_pad_templates (element_class);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_efficientad_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_efficientad_stop);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_efficientad_transform_ip);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_efficientad_sink_event);

  gst_type_mark_as_plugin_api (GST_TYPE_EFFICIENTAD_MESSAGES, (GstPluginAPIFlags) 0);
  GST_DEBUG_CATEGORY_INIT (gst_efficientad_debug, "efficientad", 0, "EfficientAD anomaly detector");
}

static void
gst_efficientad_init (GstEfficientAd * self)
{
  self->priv = new Private ();
  /* Inspection must not skip frames: QoS dropping is opt-in (qos=true) for live previews. */
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
}
