/**
 * SECTION:element-efficientadtrain
 * @title: efficientadtrain
 *
 * Capture-then-train. A pass-through element (inline or on a tee branch) that captures normal frames to
 * #GstEfficientAdTrain:capture-folder as PNG files (`frame-000001.png`, ...; written whole, on a background
 * thread, as they arrive), then trains an EfficientAD model from them without blocking the stream.
 *
 * Capture: every #GstEfficientAdTrain:capture-interval th frame, at least #GstEfficientAdTrain:min-gap apart,
 * skipping near-duplicates of the last captured frame (#GstEfficientAdTrain:duplicate-threshold), inside
 * #GstEfficientAdTrain:roi, until the folder holds #GstEfficientAdTrain:max-frames images. A folder from an
 * earlier capture is resumed (numbering and the frame count continue) unless #GstEfficientAdTrain:resume is off.
 * Captures never stall the stream: should the disk fall behind (256 MB of frames waiting to be written), frames
 * are skipped, with a warning, until it catches up.
 *
 * Training starts when max-frames is reached, at end of stream (the EOS is held until training ends, so that
 * gst-launch waits for the model), or when the `train` action signal is emitted; #GstEfficientAdTrain:auto-train
 * off leaves only the signal. It runs on its own thread with the engine's trainer: 10 % of the frames are held out
 * to calibrate the threshold stored in the model. The model file is written atomically: stopping the pipeline or
 * the `cancel-training` signal cancels cleanly and leaves no partial file.
 *
 * Element messages: `frame-captured` (file, frames), `training-started` (frames, steps), `training-progress`
 * (phase, step, total, loss, eta-seconds; at most two per second), `training-done` (model-file, model-id,
 * threshold, seconds) and `training-failed` (error, cancelled).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src num-buffers=3000 ! videoconvert ! efficientadtrain capture-folder=good min-gap=500000000 max-frames=200 model-file=part.efad ! fakesink
 * ]| Capture 200 frames at least half a second apart, then train part.efad (gst-launch exits when it is written).
 */
#include "gstefficientadtrain.h"

#include <glib/gstdio.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>

#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "efficientad/teacher.h"
#include "efficientad/trainer.h"
#include "framewriter.h"
#include "gstefficientad.h"
#include "videoframe.h"

GST_DEBUG_CATEGORY_STATIC (gst_efficientad_train_debug);
#define GST_CAT_DEFAULT gst_efficientad_train_debug

enum {
  PROP_0,
  PROP_CAPTURE_FOLDER,
  PROP_RESUME,
  PROP_CAPTURE_INTERVAL,
  PROP_MIN_GAP,
  PROP_DUPLICATE_THRESHOLD,
  PROP_ROI,
  PROP_MAX_FRAMES,
  PROP_MODEL_FILE,
  PROP_AUTO_TRAIN,
  PROP_VARIANT,
  PROP_STEPS,
  PROP_INPUT_SIZE,
  PROP_TEACHER,
  PROP_PENALTY_IMAGES,
  PROP_DEVICE,
  PROP_MODE,
  PROP_THREADS,
  PROP_SEED,
  PROP_CAPTURED_FRAMES,
};

enum {
  SIGNAL_TRAIN,
  SIGNAL_CANCEL_TRAINING,
  LAST_SIGNAL,
};
static guint signals[LAST_SIGNAL];

#define DEFAULT_CAPTURE_INTERVAL 1
#define DEFAULT_MIN_GAP 0
#define DEFAULT_DUPLICATE_THRESHOLD 1.0
#define DEFAULT_MAX_FRAMES 200
#define DEFAULT_STEPS 1000
#define DEFAULT_INPUT_SIZE 256
#define DEFAULT_SEED 42
#define THUMBNAIL_SIDE 32
/* Frames waiting for the disk, in bytes (about 90 frames of 1280x720 RGB): beyond, captures are skipped. */
#define MAX_QUEUED_BYTES (256u << 20)

namespace {

/* One training run on its own thread. */
struct TrainingJob {
  std::thread thread;
  std::atomic<bool> cancel{false};
  bool finished = false;  /* object lock */
};

/* What a training run needs, copied from the properties when it starts. */
struct TrainingRequest {
  std::string folder, model_file;
  std::string teacher;  /* resolved on the training thread: an error becomes a training-failed message */
  efficientad::TrainOptions options;
};

}  // namespace

struct _GstEfficientAdTrain {
  GstVideoFilter parent;

  /* Properties, under the object lock. */
  gchar *capture_folder;
  gboolean resume;
  guint capture_interval;
  guint64 min_gap;
  gdouble duplicate_threshold;
  gchar *roi_text;
  GstVideoRectangle roi;
  guint max_frames;
  gchar *model_file;
  gboolean auto_train;
  GstEfficientAdVariant variant;
  guint steps, input_size, threads;
  gchar *teacher, *penalty_images;
  GstEfficientAdDevice device;
  GstEfficientAdMode mode;
  guint64 seed;

  /* Between start() and stop(). Capture state belongs to the streaming thread; `captured` is also read by the
   * property getter (object lock). */
  FrameWriter *writer;
  guint captured;
  guint next_index;
  guint64 frame_number;
  GstClockTime last_capture_time;
  efficientad::Image *last_thumbnail;
  gboolean capture_done, warned_roi;
  guint skipped_for_disk;  /* captures skipped because the writer fell behind */

  /* Object lock. */
  TrainingJob *job;
  gboolean eos_held;  /* an EOS waits for the running training to end */
};

#define gst_efficientad_train_parent_class parent_class
G_DEFINE_TYPE (GstEfficientAdTrain, gst_efficientad_train, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (efficientadtrain, "efficientadtrain", GST_RANK_NONE, GST_TYPE_EFFICIENTAD_TRAIN);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (EFFICIENTAD_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (EFFICIENTAD_VIDEO_FORMATS)));

#define GST_TYPE_EFFICIENTAD_VARIANT (gst_efficientad_variant_get_type ())
static GType
gst_efficientad_variant_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_EFFICIENTAD_VARIANT_S, "EfficientAD-S", "S"},
    {GST_EFFICIENTAD_VARIANT_M, "EfficientAD-M (about 3x slower)", "M"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstEfficientAdVariant", values));
  return type;
}

static void
post_element_message (GstEfficientAdTrain * self, GstStructure * s)
{
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

/* Frames already in the folder (an earlier capture) and the number after the highest frame-NNNNNN.png. */
static guint
scan_capture_folder (const std::string & folder, guint * next_index)
{
  *next_index = 1;
  const std::vector<std::string> files = efficientad::list_image_files (folder);
  for (const std::string & file : files) {
    guint index;
    if (std::sscanf (std::filesystem::path (file).filename ().c_str (), "frame-%u.png", &index) == 1)
      *next_index = MAX (*next_index, index + 1);
  }
  return (guint) files.size ();
}

/* Object lock held. */
static TrainingRequest
training_request (GstEfficientAdTrain * self)
{
  TrainingRequest r;
  r.folder = self->capture_folder;
  r.model_file = self->model_file && *self->model_file ? self->model_file : r.folder + "/model.efad";
  efficientad::TrainOptions &o = r.options;
  o.geometry.variant = self->variant == GST_EFFICIENTAD_VARIANT_M ? efficientad::Variant::Medium
      : efficientad::Variant::Small;
  o.geometry.input_width = o.geometry.input_height = (int) self->input_size;
  o.steps = self->steps;
  o.seed = self->seed;
  r.teacher = self->teacher ? self->teacher : efficientad::kDefaultTeacher;
  o.penalty_folder = self->penalty_images ? self->penalty_images : "";
  o.device = self->device == GST_EFFICIENTAD_DEVICE_CPU ? efficientad::Device::Cpu
      : self->device == GST_EFFICIENTAD_DEVICE_CUDA ? efficientad::Device::Cuda : efficientad::Device::Auto;
  o.precision = self->mode == GST_EFFICIENTAD_MODE_EXACT ? efficientad::Mode::Exact : efficientad::Mode::Fast;
  o.threads = (int) self->threads;
  return r;
}

static void
post_progress (GstEfficientAdTrain * self, const efficientad::TrainProgress & p)
{
  post_element_message (self, gst_structure_new ("training-progress",
          "phase", G_TYPE_STRING, efficientad::phase_name (p.phase),
          "step", G_TYPE_INT64, (gint64) p.step, "total", G_TYPE_INT64, (gint64) p.total,
          "loss", G_TYPE_FLOAT, p.loss_total, "eta-seconds", G_TYPE_DOUBLE, p.eta_seconds, NULL));
}

/* The training thread: waits for the writer, trains, reports, then releases a held EOS. */
static void
run_training (GstEfficientAdTrain * self, TrainingJob * job, TrainingRequest request)
{
  const auto start = std::chrono::steady_clock::now ();
  try {
    request.options.teacher_path = efficientad::teacher_path_for (request.teacher, request.options.geometry.variant);
    const std::string write_error = self->writer->flush ();
    if (!write_error.empty ())
      GST_WARNING_OBJECT (self, "some frames were not written: %s", write_error.c_str ());
    const efficientad::ModelGeometry &g = request.options.geometry;
    efficientad::TrainingSet images (g.input_width, g.input_height);
    images.add_folder (request.folder);
    post_element_message (self, gst_structure_new ("training-started", "frames", G_TYPE_UINT, (guint) images.size (),
            "steps", G_TYPE_INT64, (gint64) request.options.steps, NULL));
    auto last_post = std::chrono::steady_clock::now () - std::chrono::seconds (1);
    efficientad::TrainProgress::Phase last_phase = efficientad::TrainProgress::Phase::Done;
    auto progress = [&] (const efficientad::TrainProgress & p) {
      const auto now = std::chrono::steady_clock::now ();
      if (p.phase == last_phase && p.step != p.total && now - last_post < std::chrono::milliseconds (500))
        return;
      last_post = now;
      last_phase = p.phase;
      post_progress (self, p);
    };
    auto warn = [self] (const std::string & message) { GST_WARNING_OBJECT (self, "%s", message.c_str ()); };
    const efficientad::TrainResult result = efficientad::train_model (images, request.options, request.model_file,
        progress, &job->cancel, warn);
    const double seconds = std::chrono::duration<double> (std::chrono::steady_clock::now () - start).count ();
    post_element_message (self, gst_structure_new ("training-done", "model-file", G_TYPE_STRING,
            request.model_file.c_str (), "model-id", G_TYPE_STRING, result.info.model_id.c_str (),
            "threshold", G_TYPE_FLOAT, result.info.threshold, "seconds", G_TYPE_DOUBLE, seconds,
            "frames", G_TYPE_UINT, (guint) images.size (), NULL));
  } catch (const std::exception & e) {
    const gboolean cancelled = dynamic_cast<const efficientad::Cancelled *> (&e) != nullptr;
    if (!cancelled)
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE, ("Training from %s failed: %s", request.folder.c_str (), e.what ()),
          (NULL));
    post_element_message (self, gst_structure_new ("training-failed", "error", G_TYPE_STRING, e.what (),
            "cancelled", G_TYPE_BOOLEAN, cancelled, NULL));
  }
  GST_OBJECT_LOCK (self);
  job->finished = true;
  const gboolean release_eos = self->eos_held;
  self->eos_held = FALSE;
  GST_OBJECT_UNLOCK (self);
  if (release_eos)
    gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self), gst_event_new_eos ());
}

/* Starts training unless a run already started in this session. Object lock held. */
static gboolean
start_training_locked (GstEfficientAdTrain * self)
{
  if (self->job != nullptr || self->writer == nullptr)
    return FALSE;
  self->job = new TrainingJob ();
  self->job->thread = std::thread (run_training, self, self->job, training_request (self));
  return TRUE;
}

static void
gst_efficientad_train_action_train (GstEfficientAdTrain * self)
{
  GST_OBJECT_LOCK (self);
  const gboolean started = start_training_locked (self);
  GST_OBJECT_UNLOCK (self);
  if (!started)
    GST_WARNING_OBJECT (self, "'train' ignored: not running, or a training already ran in this session");
}

static void
gst_efficientad_train_action_cancel (GstEfficientAdTrain * self)
{
  GST_OBJECT_LOCK (self);
  if (self->job)
    self->job->cancel = true;
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_efficientad_train_start (GstBaseTransform * trans)
{
  GstEfficientAdTrain *self = GST_EFFICIENTAD_TRAIN (trans);

  GST_OBJECT_LOCK (self);
  const std::string folder = self->capture_folder ? self->capture_folder : "";
  const std::string model_file = self->model_file ? self->model_file : "";
  const gboolean resume = self->resume;
  GST_OBJECT_UNLOCK (self);

  if (folder.empty ()) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No capture folder: set capture-folder."), (NULL));
    return FALSE;
  }
  std::error_code ec;
  std::filesystem::create_directories (folder, ec);
  const std::string probe = folder + "/.efficientadtrain-probe";
  FILE *f = ec ? nullptr : std::fopen (probe.c_str (), "w");
  if (f == nullptr) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, ("Cannot write to the capture folder %s: %s", folder.c_str (),
            ec ? ec.message ().c_str () : g_strerror (errno)), (NULL));
    return FALSE;
  }
  std::fclose (f);
  std::remove (probe.c_str ());
  const std::filesystem::path model_dir = std::filesystem::path (model_file).parent_path ();
  if (!model_file.empty () && !model_dir.empty () && !std::filesystem::is_directory (model_dir, ec)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, ("The model file's folder %s does not exist.",
            model_dir.c_str ()), (NULL));
    return FALSE;
  }
  guint next_index;
  const guint existing = scan_capture_folder (folder, &next_index);
  if (existing > 0 && !resume) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, ("The capture folder %s already holds %u images; set resume=true "
            "to add to them or choose an empty folder.", folder.c_str (), existing), (NULL));
    return FALSE;
  }
  if (existing > 0)
    GST_INFO_OBJECT (self, "resuming the capture in %s: %u frames already there", folder.c_str (), existing);

  GST_OBJECT_LOCK (self);
  self->writer = new FrameWriter (folder, MAX_QUEUED_BYTES);
  self->captured = existing;
  self->next_index = next_index;
  self->frame_number = 0;
  self->last_capture_time = GST_CLOCK_TIME_NONE;
  self->capture_done = existing >= self->max_frames;
  self->warned_roi = FALSE;
  self->skipped_for_disk = 0;
  self->eos_held = FALSE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_efficientad_train_stop (GstBaseTransform * trans)
{
  GstEfficientAdTrain *self = GST_EFFICIENTAD_TRAIN (trans);

  GST_OBJECT_LOCK (self);
  TrainingJob *job = self->job;
  self->job = nullptr;
  self->eos_held = FALSE;
  GST_OBJECT_UNLOCK (self);
  if (job) {
    job->cancel = true;  /* polled between training steps */
    job->thread.join ();
    delete job;
  }
  if (self->skipped_for_disk > 0)
    GST_WARNING_OBJECT (self, "%u captures were skipped because the disk fell behind", self->skipped_for_disk);
  delete self->writer;  /* writes what is still queued */
  self->writer = nullptr;
  delete self->last_thumbnail;
  self->last_thumbnail = nullptr;
  return TRUE;
}

/* Mean absolute difference of two thumbnails, in grey levels. */
static double
thumbnail_difference (const efficientad::Image & a, const efficientad::Image & b)
{
  double sum = 0;
  for (size_t i = 0; i < a.size_bytes (); ++i)
    sum += std::abs ((int) a.data ()[i] - (int) b.data ()[i]);
  return sum / (double) a.size_bytes ();
}

static GstFlowReturn
gst_efficientad_train_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstEfficientAdTrain *self = GST_EFFICIENTAD_TRAIN (trans);
  GstVideoFilter *filter = GST_VIDEO_FILTER (trans);

  GST_OBJECT_LOCK (self);
  const guint interval = self->capture_interval, max_frames = self->max_frames;
  const guint64 min_gap = self->min_gap;
  const gdouble duplicate_threshold = self->duplicate_threshold;
  const GstVideoRectangle roi = self->roi;
  const gboolean done = self->capture_done || self->captured >= max_frames;
  GST_OBJECT_UNLOCK (self);

  const guint64 number = self->frame_number++;
  if (done || number % interval != 0 || gst_buffer_get_size (buffer) == 0)
    return GST_FLOW_OK;
  const GstClockTime time = gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));
  if (min_gap > 0 && GST_CLOCK_TIME_IS_VALID (time) && GST_CLOCK_TIME_IS_VALID (self->last_capture_time) &&
      time < self->last_capture_time + min_gap)
    return GST_FLOW_OK;
  if (!self->writer->has_room ()) {
    if (self->skipped_for_disk++ == 0)
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE, ("The disk cannot keep up with the capture: frames are skipped "
              "until the queued ones are written. Raise capture-interval or min-gap."), (NULL));
    return GST_FLOW_OK;
  }

  GstVideoFrame frame;
  if (!gst_video_frame_map (&frame, &filter->in_info, buffer, GST_MAP_READ))
    return GST_FLOW_OK;  /* not a frame of the negotiated format: nothing to capture */
  const efficientad::ImageView view = efficientad::gst::view_of<efficientad::ImageView> (&frame);
  bool outside;
  const GstVideoRectangle r = efficientad::gst::clip_region (roi, view.width, view.height,
      efficientad::is_yuv (view.format), &outside);
  if (outside && !self->warned_roi) {
    self->warned_roi = TRUE;
    GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("The roi %d,%d,%d,%d lies outside the %dx%d frames; capturing whole "
            "frames.", roi.x, roi.y, roi.w, roi.h, view.width, view.height), (NULL));
  }
  const efficientad::ImageView region = view.crop (r.x, r.y, r.w, r.h);
  efficientad::Image thumbnail = efficientad::to_rgb (region, THUMBNAIL_SIDE, THUMBNAIL_SIDE);
  if (duplicate_threshold > 0 && self->last_thumbnail &&
      thumbnail_difference (thumbnail, *self->last_thumbnail) < duplicate_threshold) {
    gst_video_frame_unmap (&frame);
    return GST_FLOW_OK;
  }
  efficientad::Image rgb = efficientad::to_rgb (region);
  gst_video_frame_unmap (&frame);

  gchar *name = g_strdup_printf ("frame-%06u.png", self->next_index++);
  self->writer->write (name, std::move (rgb));
  delete self->last_thumbnail;
  self->last_thumbnail = new efficientad::Image (std::move (thumbnail));
  self->last_capture_time = time;

  const std::string write_error = self->writer->error ();
  GST_OBJECT_LOCK (self);
  const guint captured = ++self->captured;
  if (!write_error.empty ())
    self->capture_done = TRUE;
  const gboolean start = captured >= max_frames && self->auto_train && write_error.empty () &&
      start_training_locked (self);
  GST_OBJECT_UNLOCK (self);
  post_element_message (self, gst_structure_new ("frame-captured", "file", G_TYPE_STRING, name,
          "frames", G_TYPE_UINT, captured, NULL));
  g_free (name);
  if (!write_error.empty ())
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE, ("Capture stopped: a frame could not be written (%s). The frames "
            "already written are kept.", write_error.c_str ()), (NULL));
  if (start)
    GST_INFO_OBJECT (self, "captured %u frames: training started", captured);
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_efficientad_train_transform_frame_ip (GstVideoFilter *, GstVideoFrame *)
{
  g_assert_not_reached ();  /* transform_ip above replaces GstVideoFilter's caller of this */
  return GST_FLOW_ERROR;
}

static gboolean
gst_efficientad_train_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstEfficientAdTrain *self = GST_EFFICIENTAD_TRAIN (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    GST_OBJECT_LOCK (self);
    const guint captured = self->captured;
    if (self->job == nullptr && self->auto_train && captured >= 2)
      start_training_locked (self);
    /* Hold the EOS while training runs: gst-launch and applications waiting for EOS then wait for the model. */
    const gboolean hold = self->job != nullptr && !self->job->finished;
    self->eos_held = hold;
    const gboolean too_few = self->job == nullptr && self->auto_train;
    GST_OBJECT_UNLOCK (self);
    if (too_few) {
      gchar *error = g_strdup_printf ("end of stream with %u captured frame(s); training needs at least 2", captured);
      GST_ELEMENT_WARNING (self, STREAM, FAILED, ("No model trained: %s.", error), (NULL));
      post_element_message (self, gst_structure_new ("training-failed", "error", G_TYPE_STRING, error,
              "cancelled", G_TYPE_BOOLEAN, FALSE, NULL));
      g_free (error);
    }
    if (hold) {
      gst_event_unref (event);
      return TRUE;
    }
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static void
gst_efficientad_train_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstEfficientAdTrain *self = GST_EFFICIENTAD_TRAIN (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_CAPTURE_FOLDER:
      g_free (self->capture_folder);
      self->capture_folder = g_value_dup_string (value);
      break;
    case PROP_RESUME:
      self->resume = g_value_get_boolean (value);
      break;
    case PROP_CAPTURE_INTERVAL:
      self->capture_interval = g_value_get_uint (value);
      break;
    case PROP_MIN_GAP:
      self->min_gap = g_value_get_uint64 (value);
      break;
    case PROP_DUPLICATE_THRESHOLD:
      self->duplicate_threshold = g_value_get_double (value);
      break;
    case PROP_ROI: {
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
    case PROP_MAX_FRAMES:
      self->max_frames = g_value_get_uint (value);
      break;
    case PROP_MODEL_FILE:
      g_free (self->model_file);
      self->model_file = g_value_dup_string (value);
      break;
    case PROP_AUTO_TRAIN:
      self->auto_train = g_value_get_boolean (value);
      break;
    case PROP_VARIANT:
      self->variant = (GstEfficientAdVariant) g_value_get_enum (value);
      break;
    case PROP_STEPS:
      self->steps = g_value_get_uint (value);
      break;
    case PROP_INPUT_SIZE:
      self->input_size = g_value_get_uint (value);
      break;
    case PROP_TEACHER:
      g_free (self->teacher);
      self->teacher = g_value_dup_string (value);
      break;
    case PROP_PENALTY_IMAGES:
      g_free (self->penalty_images);
      self->penalty_images = g_value_dup_string (value);
      break;
    case PROP_DEVICE:
      self->device = (GstEfficientAdDevice) g_value_get_enum (value);
      break;
    case PROP_MODE:
      self->mode = (GstEfficientAdMode) g_value_get_enum (value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_uint (value);
      break;
    case PROP_SEED:
      self->seed = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_efficientad_train_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstEfficientAdTrain *self = GST_EFFICIENTAD_TRAIN (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_CAPTURE_FOLDER:
      g_value_set_string (value, self->capture_folder);
      break;
    case PROP_RESUME:
      g_value_set_boolean (value, self->resume);
      break;
    case PROP_CAPTURE_INTERVAL:
      g_value_set_uint (value, self->capture_interval);
      break;
    case PROP_MIN_GAP:
      g_value_set_uint64 (value, self->min_gap);
      break;
    case PROP_DUPLICATE_THRESHOLD:
      g_value_set_double (value, self->duplicate_threshold);
      break;
    case PROP_ROI:
      g_value_set_string (value, self->roi_text ? self->roi_text : "");
      break;
    case PROP_MAX_FRAMES:
      g_value_set_uint (value, self->max_frames);
      break;
    case PROP_MODEL_FILE:
      g_value_set_string (value, self->model_file);
      break;
    case PROP_AUTO_TRAIN:
      g_value_set_boolean (value, self->auto_train);
      break;
    case PROP_VARIANT:
      g_value_set_enum (value, self->variant);
      break;
    case PROP_STEPS:
      g_value_set_uint (value, self->steps);
      break;
    case PROP_INPUT_SIZE:
      g_value_set_uint (value, self->input_size);
      break;
    case PROP_TEACHER:
      g_value_set_string (value, self->teacher);
      break;
    case PROP_PENALTY_IMAGES:
      g_value_set_string (value, self->penalty_images);
      break;
    case PROP_DEVICE:
      g_value_set_enum (value, self->device);
      break;
    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;
    case PROP_THREADS:
      g_value_set_uint (value, self->threads);
      break;
    case PROP_SEED:
      g_value_set_uint64 (value, self->seed);
      break;
    case PROP_CAPTURED_FRAMES:
      g_value_set_uint (value, self->captured);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_efficientad_train_finalize (GObject * object)
{
  GstEfficientAdTrain *self = GST_EFFICIENTAD_TRAIN (object);

  gst_efficientad_train_stop (GST_BASE_TRANSFORM (self));  /* no-op unless stop() never ran */
  g_free (self->capture_folder);
  g_free (self->roi_text);
  g_free (self->model_file);
  g_free (self->teacher);
  g_free (self->penalty_images);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_efficientad_train_class_init (GstEfficientAdTrainClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const GParamFlags rw = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const GParamFlags rw_playing = (GParamFlags) (rw | GST_PARAM_MUTABLE_PLAYING);
  const GParamFlags rw_ready = (GParamFlags) (rw | GST_PARAM_MUTABLE_READY);

  gobject_class->set_property = gst_efficientad_train_set_property;
  gobject_class->get_property = gst_efficientad_train_get_property;
  gobject_class->finalize = gst_efficientad_train_finalize;

  g_object_class_install_property (gobject_class, PROP_CAPTURE_FOLDER,
      g_param_spec_string ("capture-folder", "Capture folder",
          "Folder for the captured frames (created if missing); 'efficientad train --data' reads it too", NULL,
          rw_ready));
  g_object_class_install_property (gobject_class, PROP_RESUME,
      g_param_spec_boolean ("resume", "Resume", "Add to the images already in the capture folder (they count "
          "towards max-frames); off: refuse a folder that is not empty", TRUE, rw_ready));
  g_object_class_install_property (gobject_class, PROP_CAPTURE_INTERVAL,
      g_param_spec_uint ("capture-interval", "Capture interval", "Consider every Nth frame", 1, G_MAXUINT,
          DEFAULT_CAPTURE_INTERVAL, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MIN_GAP,
      g_param_spec_uint64 ("min-gap", "Minimum gap", "Least running time between two captured frames, in ns",
          0, G_MAXUINT64, DEFAULT_MIN_GAP, rw_playing));
  g_object_class_install_property (gobject_class, PROP_DUPLICATE_THRESHOLD,
      g_param_spec_double ("duplicate-threshold", "Duplicate threshold",
          "Skip frames whose 32x32 thumbnail differs from the last captured one by less than this mean absolute "
          "difference in grey levels (0 keeps every frame)", 0, 255, DEFAULT_DUPLICATE_THRESHOLD, rw_playing));
  g_object_class_install_property (gobject_class, PROP_ROI,
      g_param_spec_string ("roi", "Region of interest", "Rectangle to capture, \"x,y,width,height\"; empty for the "
          "whole frame. Use the same roi on efficientad", "", rw_ready));
  g_object_class_install_property (gobject_class, PROP_MAX_FRAMES,
      g_param_spec_uint ("max-frames", "Max frames", "Stop capturing (and start training when auto-train is on) "
          "once the folder holds this many frames", 2, G_MAXUINT, DEFAULT_MAX_FRAMES, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MODEL_FILE,
      g_param_spec_string ("model-file", "Model file", "Model to write (atomically); empty: model.efad in the "
          "capture folder", NULL, rw_playing));
  g_object_class_install_property (gobject_class, PROP_AUTO_TRAIN,
      g_param_spec_boolean ("auto-train", "Auto train", "Train when max-frames is reached or at end of stream; "
          "off: only on the 'train' signal", TRUE, rw_playing));
  g_object_class_install_property (gobject_class, PROP_VARIANT,
      g_param_spec_enum ("variant", "Variant", "Model variant", GST_TYPE_EFFICIENTAD_VARIANT,
          GST_EFFICIENTAD_VARIANT_S, rw_playing));
  g_object_class_install_property (gobject_class, PROP_STEPS,
      g_param_spec_uint ("steps", "Steps", "Training steps (the paper uses 70000; 1000 takes about 20 minutes on "
          "2 CPU cores)", 1, G_MAXUINT, DEFAULT_STEPS, rw_playing));
  g_object_class_install_property (gobject_class, PROP_INPUT_SIZE,
      g_param_spec_uint ("input-size", "Input size", "Network input side in pixels", 256, 2048, DEFAULT_INPUT_SIZE,
          rw_playing));
  g_object_class_install_property (gobject_class, PROP_TEACHER,
      g_param_spec_string ("teacher", "Teacher", "'auto' (the shipped teacher where one ships for the variant, "
          "else random), 'shipped' (models/teacher_s.efad), 'random' or a teacher file", efficientad::kDefaultTeacher,
          rw_playing));
  g_object_class_install_property (gobject_class, PROP_PENALTY_IMAGES,
      g_param_spec_string ("penalty-images", "Penalty images", "Folder of natural images for the pretraining "
          "penalty; empty: off", NULL, rw_playing));
  g_object_class_install_property (gobject_class, PROP_DEVICE,
      g_param_spec_enum ("device", "Device", "Where to train", GST_TYPE_EFFICIENTAD_DEVICE,
          GST_EFFICIENTAD_DEVICE_AUTO, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode", "Training precision: fast (bf16 where the CPU has it) or exact (fp32)",
          GST_TYPE_EFFICIENTAD_MODE, GST_EFFICIENTAD_MODE_FAST, rw_playing));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_uint ("threads", "Threads", "CPU threads for training; 0 = one per core", 0, 1024, 0, rw_playing));
  g_object_class_install_property (gobject_class, PROP_SEED,
      g_param_spec_uint64 ("seed", "Seed", "Random seed of training", 0, G_MAXUINT64, DEFAULT_SEED, rw_playing));
  g_object_class_install_property (gobject_class, PROP_CAPTURED_FRAMES,
      g_param_spec_uint ("captured-frames", "Captured frames", "Images in the capture folder (read-only)", 0,
          G_MAXUINT, 0, (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  /* Action signals: g_signal_emit_by_name (element, "train") starts training on the frames captured so far. */
  signals[SIGNAL_TRAIN] = g_signal_new_class_handler ("train", G_TYPE_FROM_CLASS (klass),
      (GSignalFlags) (G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION), G_CALLBACK (gst_efficientad_train_action_train),
      NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_CANCEL_TRAINING] = g_signal_new_class_handler ("cancel-training", G_TYPE_FROM_CLASS (klass),
      (GSignalFlags) (G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION), G_CALLBACK (gst_efficientad_train_action_cancel),
      NULL, NULL, NULL, G_TYPE_NONE, 0);

  gst_element_class_set_static_metadata (element_class, "EfficientAD capture and training", "Filter/Video",
      "Captures normal frames to a folder and trains an EfficientAD model from them in the background",
      "gst-efficientad maintainers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_efficientad_train_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_efficientad_train_stop);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_efficientad_train_transform_ip);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_efficientad_train_sink_event);
  /* In passthrough, GstVideoFilter skips transform_ip unless the class has a transform_frame_ip (its set_caps
   * clears transform_ip_on_passthrough otherwise). Our transform_ip maps frames itself, so that gap buffers
   * and short buffers pass instead of failing the stream; the frame function only marks the class. */
  GST_VIDEO_FILTER_CLASS (klass)->transform_frame_ip = gst_efficientad_train_transform_frame_ip;
  trans_class->transform_ip_on_passthrough = TRUE;

  gst_type_mark_as_plugin_api (GST_TYPE_EFFICIENTAD_VARIANT, (GstPluginAPIFlags) 0);
  GST_DEBUG_CATEGORY_INIT (gst_efficientad_train_debug, "efficientadtrain", 0, "EfficientAD capture and training");
}

static void
gst_efficientad_train_init (GstEfficientAdTrain * self)
{
  self->resume = TRUE;
  self->capture_interval = DEFAULT_CAPTURE_INTERVAL;
  self->min_gap = DEFAULT_MIN_GAP;
  self->duplicate_threshold = DEFAULT_DUPLICATE_THRESHOLD;
  self->max_frames = DEFAULT_MAX_FRAMES;
  self->auto_train = TRUE;
  self->variant = GST_EFFICIENTAD_VARIANT_S;
  self->steps = DEFAULT_STEPS;
  self->input_size = DEFAULT_INPUT_SIZE;
  self->teacher = g_strdup (efficientad::kDefaultTeacher);
  self->device = GST_EFFICIENTAD_DEVICE_AUTO;
  self->mode = GST_EFFICIENTAD_MODE_FAST;
  self->seed = DEFAULT_SEED;
  /* Capture must see every frame it is asked to consider. */
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);  /* frames are only read: never copied */
}
