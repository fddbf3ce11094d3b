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
 * threshold, int8-threshold where the model has one, seconds) and `training-failed` (error, cancelled).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src num-buffers=3000 ! videoconvert ! efficientadtrain capture-folder=good min-gap=500000000 max-frames=200 model-file=part.efad ! fakesink
 * ]| Capture 200 frames at least half a second apart, then train part.efad (gst-launch exits when it is written).
 */
#include "gstefficientadtrain.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "capturepolicy.h"
#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "efficientad/teacher.h"
#include "efficientad/trainer.h"
#include "framewriter.h"
#include "gstefficientadcommon.h"
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
  PROP_MAX_FRAMES,
  PROP_MODEL_FILE,
  PROP_AUTO_TRAIN,
  PROP_VARIANT,
  PROP_STEPS,
  PROP_INPUT_SIZE,
  PROP_KEEP_ASPECT,
  PROP_TEACHER,
  PROP_PENALTY,
  PROP_PENALTY_IMAGES,
  PROP_SEED,
  PROP_SCHEDULE,
  PROP_LEARNING_RATE,
  PROP_CAPTURED_FRAMES,
  PROP_COMMON_FIRST,  /* device, mode, threads, roi: gstefficientadcommon.h */
};

enum {
  SIGNAL_TRAIN,
  SIGNAL_CANCEL_TRAINING,
  LAST_SIGNAL,
};
static guint signals[LAST_SIGNAL];

#define DEFAULT_STEPS 1000
#define DEFAULT_INPUT_SIZE 256
#define DEFAULT_SEED 42
/* The engine's default (efficientad::TrainOptions), as the command line's. */
#define DEFAULT_PENALTY (efficientad::TrainOptions {}.penalty == efficientad::Penalty::DeadLeaves ? \
    GST_EFFICIENTAD_PENALTY_DEAD_LEAVES : GST_EFFICIENTAD_PENALTY_OFF)
/* Frames waiting for the disk, in bytes (about 90 frames of 1280x720 RGB): beyond, captures are skipped. */
#define MAX_QUEUED_BYTES (256u << 20)

namespace {

using efficientad::gst::CapturePolicy;
using efficientad::gst::FrameWriter;

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

/* The element's state; C++ members own what they hold. */
struct Private {
  /* Properties, under the object lock. */
  std::optional<std::string> capture_folder, model_file, penalty_images;
  std::string teacher = efficientad::kDefaultTeacher;
  gboolean resume = TRUE, auto_train = TRUE, keep_aspect = FALSE;
  efficientad::gst::CaptureRules rules;
  efficientad::gst::CommonSettings common;
  GstEfficientAdVariant variant = GST_EFFICIENTAD_VARIANT_S;
  guint steps = DEFAULT_STEPS, input_size = DEFAULT_INPUT_SIZE;
  guint64 seed = DEFAULT_SEED;
  GstEfficientAdSchedule schedule = GST_EFFICIENTAD_SCHEDULE_PAPER;
  gdouble learning_rate = 0;
  GstEfficientAdPenalty penalty = DEFAULT_PENALTY;

  /* Between start() and stop(). The capture belongs to the streaming thread; its count is also read by the
   * property getter and by the training trigger (object lock). */
  std::unique_ptr<FrameWriter> writer;
  std::unique_ptr<CapturePolicy> capture;
  efficientad::gst::RoiWarning roi_warning;
  guint skipped_for_disk = 0;  /* captures skipped because the writer fell behind */
  guint failed_writes = 0;                 /* of the last session, once its writer is gone */

  /* Object lock. */
  std::unique_ptr<TrainingJob> job;
  gboolean eos_held = FALSE;  /* an EOS waits for the running training to end */
};

}  // namespace

struct _GstEfficientAdTrain {
  GstVideoFilter parent;
  Private *priv;
};

#define gst_efficientad_train_parent_class parent_class
G_DEFINE_TYPE (GstEfficientAdTrain, gst_efficientad_train, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (efficientadtrain, "efficientadtrain", GST_RANK_NONE, GST_TYPE_EFFICIENTAD_TRAIN);

#define GST_TYPE_EFFICIENTAD_VARIANT (gst_efficientad_variant_get_type ())
static GType
gst_efficientad_variant_get_type (void)
{
  static const GEnumValue values[] = {
    {GST_EFFICIENTAD_VARIANT_S, "EfficientAD-S", "S"},
    {GST_EFFICIENTAD_VARIANT_M, "EfficientAD-M (about 3x slower)", "M"},
    {0, NULL, NULL},
  };
  static const GType type = g_enum_register_static ("GstEfficientAdVariant", values);
  return type;
}

#define GST_TYPE_EFFICIENTAD_SCHEDULE (gst_efficientad_schedule_get_type ())
static GType
gst_efficientad_schedule_get_type (void)
{
  static const GEnumValue values[] = {
    {GST_EFFICIENTAD_SCHEDULE_PAPER, "Adam at 1e-4, a tenth of it for the last 5 % (Algorithm 1)", "paper"},
    {GST_EFFICIENTAD_SCHEDULE_COSINE, "5 % warm-up to a higher peak, then a cosine decay to 0", "cosine"},
    {0, NULL, NULL},
  };
  static const GType type = g_enum_register_static ("GstEfficientAdSchedule", values);
  return type;
}

#define GST_TYPE_EFFICIENTAD_PENALTY (gst_efficientad_penalty_get_type ())
static GType
gst_efficientad_penalty_get_type (void)
{
  static const GEnumValue values[] = {
    {GST_EFFICIENTAD_PENALTY_OFF, "No pretraining penalty", "off"},
    {GST_EFFICIENTAD_PENALTY_DEAD_LEAVES, "Procedural dead-leaves images (occluding shapes at every scale)",
        "dead-leaves"},
    {0, NULL, NULL},
  };
  static const GType type = g_enum_register_static ("GstEfficientAdPenalty", values);
  return type;
}

static void
post_element_message (GstEfficientAdTrain * self, GstStructure * s)
{
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

static void
post_training_failed (GstEfficientAdTrain * self, const gchar * error, gboolean cancelled)
{
  post_element_message (self, gst_structure_new ("training-failed", "error", G_TYPE_STRING, error,
          "cancelled", G_TYPE_BOOLEAN, cancelled, NULL));
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
training_request (const Private & p)
{
  TrainingRequest r;
  r.folder = p.capture_folder.value_or ("");
  r.model_file = p.model_file && !p.model_file->empty () ? *p.model_file : r.folder + "/model.efad";
  efficientad::TrainOptions &o = r.options;
  o.geometry.variant = p.variant == GST_EFFICIENTAD_VARIANT_M ? efficientad::Variant::Medium
      : efficientad::Variant::Small;
  o.geometry.input_width = o.geometry.input_height = (int) p.input_size;
  if (p.keep_aspect)
    o.aspect_input_pixels = (gint64) p.input_size * p.input_size;
  o.steps = p.steps;
  o.seed = p.seed;
  o.schedule = p.schedule == GST_EFFICIENTAD_SCHEDULE_COSINE ? efficientad::Schedule::Cosine
      : efficientad::Schedule::Paper;
  o.learning_rate = p.learning_rate;
  r.teacher = p.teacher;
  o.penalty_folder = p.penalty_images.value_or ("");
  o.penalty = p.penalty == GST_EFFICIENTAD_PENALTY_DEAD_LEAVES ? efficientad::Penalty::DeadLeaves
      : efficientad::Penalty::Off;
  efficientad::gst::apply_training_settings (p.common, o);
  return r;
}

/* Progress messages, at most two per second within a phase (every phase's first and last one pass). */
class ProgressPoster {
 public:
  explicit ProgressPoster (GstEfficientAdTrain * self) : self_ (self) {}

  void operator() (const efficientad::TrainProgress & p)
  {
    const auto now = std::chrono::steady_clock::now ();
    if (p.phase == last_phase_ && p.step != p.total && now - last_post_ < std::chrono::milliseconds (500))
      return;
    last_post_ = now;
    last_phase_ = p.phase;
    post_element_message (self_, gst_structure_new ("training-progress",
            "phase", G_TYPE_STRING, efficientad::phase_name (p.phase),
            "step", G_TYPE_INT64, (gint64) p.step, "total", G_TYPE_INT64, (gint64) p.total,
            "loss", G_TYPE_FLOAT, p.loss_total, "eta-seconds", G_TYPE_DOUBLE, p.eta_seconds, NULL));
  }

 private:
  GstEfficientAdTrain *self_;
  std::chrono::steady_clock::time_point last_post_ = std::chrono::steady_clock::now () - std::chrono::seconds (1);
  efficientad::TrainProgress::Phase last_phase_ = efficientad::TrainProgress::Phase::Done;
};

/* Waits for the writer, trains, and posts training-started and training-done; throws what training throws. */
static void
train_from_capture (GstEfficientAdTrain * self, TrainingJob * job, TrainingRequest & request)
{
  const auto start = std::chrono::steady_clock::now ();
  request.options.teacher_path = efficientad::teacher_path_for (request.teacher, request.options.geometry.variant);
  const std::string write_error = self->priv->writer->flush ();
  if (!write_error.empty ())  /* training on what happened to be written would hide the loss */
    throw efficientad::IoError (std::to_string (self->priv->writer->failed ()) + " captured frame(s) could not be "
        "written to " + request.folder + " (" + write_error + "); free disk space, then train from the folder with "
        "'efficientad train --data' or run the pipeline again (the capture resumes)");
  efficientad::choose_input_size (request.options, {request.folder});
  const efficientad::ModelGeometry &g = request.options.geometry;
  GST_INFO_OBJECT (self, "network input %dx%d", g.input_width, g.input_height);
  efficientad::TrainingSet images (g.input_width, g.input_height, request.folder);
  images.add_folder (request.folder);
  post_element_message (self, gst_structure_new ("training-started", "frames", G_TYPE_UINT, (guint) images.size (),
          "steps", G_TYPE_INT64, (gint64) request.options.steps, NULL));
  auto warn = [self] (const std::string & message) { GST_WARNING_OBJECT (self, "%s", message.c_str ()); };
  const efficientad::TrainResult result = efficientad::train_model (images, request.options, request.model_file,
      ProgressPoster (self), &job->cancel, warn);
  const double seconds = std::chrono::duration<double> (std::chrono::steady_clock::now () - start).count ();
  GstStructure *done = gst_structure_new ("training-done", "model-file", G_TYPE_STRING,
      request.model_file.c_str (), "model-id", G_TYPE_STRING, result.info.model_id.c_str (),
      "threshold", G_TYPE_FLOAT, result.info.threshold, "seconds", G_TYPE_DOUBLE, seconds,
      "frames", G_TYPE_UINT, (guint) images.size (), NULL);
  if (result.info.int8_threshold)
    gst_structure_set (done, "int8-threshold", G_TYPE_FLOAT, *result.info.int8_threshold, NULL);
  post_element_message (self, done);
}

/* The training thread: trains, reports a failure, then releases a held EOS. */
static void
run_training (GstEfficientAdTrain * self, TrainingJob * job, TrainingRequest request)
{
  try {
    train_from_capture (self, job, request);
  } catch (const std::exception & e) {
    const gboolean cancelled = dynamic_cast<const efficientad::Cancelled *> (&e) != nullptr;
    post_training_failed (self, e.what (), cancelled);
    if (!cancelled)  /* an error, so that gst-launch and scripts fail instead of going on without a model */
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("Training from %s failed: %s", request.folder.c_str (), e.what ()),
          (NULL));
  }
  GST_OBJECT_LOCK (self);
  job->finished = true;
  const gboolean release_eos = self->priv->eos_held;
  self->priv->eos_held = FALSE;
  GST_OBJECT_UNLOCK (self);
  if (release_eos)
    gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self), gst_event_new_eos ());
}

/* Starts training unless a run already started in this session. Object lock held. */
static gboolean
start_training_locked (GstEfficientAdTrain * self)
{
  Private *p = self->priv;
  if (p->job || !p->writer)
    return FALSE;
  p->job = std::make_unique<TrainingJob> ();
  p->job->thread = std::thread (run_training, self, p->job.get (), training_request (*p));
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
  if (self->priv->job)
    self->priv->job->cancel = true;
  GST_OBJECT_UNLOCK (self);
}

/* The capture folder exists (created if missing) and takes files; the model file's folder exists. Posts an
 * error and returns FALSE otherwise. */
static gboolean
check_output_folders (GstEfficientAdTrain * self, const std::string & folder, const std::string & model_file)
{
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
  return TRUE;
}

static gboolean
gst_efficientad_train_start (GstBaseTransform * trans)
{
  GstEfficientAdTrain *self = GST_EFFICIENTAD_TRAIN (trans);
  Private *p = self->priv;

  GST_OBJECT_LOCK (self);
  const std::string folder = p->capture_folder.value_or ("");
  const std::string model_file = p->model_file.value_or ("");
  const gboolean resume = p->resume;
  const efficientad::gst::CommonSettings common = p->common;
  GST_OBJECT_UNLOCK (self);

  if (!efficientad::gst::check_common_settings (GST_ELEMENT (self), common) ||
      !check_output_folders (self, folder, model_file))
    return FALSE;
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
  p->writer = std::make_unique<FrameWriter> (folder, MAX_QUEUED_BYTES, [self] (const std::string & error) {
        GST_ELEMENT_WARNING (self, RESOURCE, WRITE, ("Capture stopped: a frame could not be written (%s). The frames "
                "already written are kept.", error.c_str ()), (NULL));
      });
  p->capture = std::make_unique<CapturePolicy> (existing, next_index);
  p->roi_warning = efficientad::gst::RoiWarning ();
  p->skipped_for_disk = 0;
  p->eos_held = FALSE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_efficientad_train_stop (GstBaseTransform * trans)
{
  GstEfficientAdTrain *self = GST_EFFICIENTAD_TRAIN (trans);
  Private *p = self->priv;

  GST_OBJECT_LOCK (self);
  std::unique_ptr<TrainingJob> job = std::move (p->job);
  p->eos_held = FALSE;
  GST_OBJECT_UNLOCK (self);
  if (job) {
    job->cancel = true;  /* polled between training steps */
    job->thread.join ();
  }
  if (p->skipped_for_disk > 0)
    GST_WARNING_OBJECT (self, "%u captures were skipped because the disk fell behind", p->skipped_for_disk);
  if (p->writer) {
    p->writer->flush ();  /* writes what is still queued; the capture's count stays readable */
    GST_OBJECT_LOCK (self);
    p->failed_writes = (guint) p->writer->failed ();
    std::unique_ptr<FrameWriter> writer = std::move (p->writer);
    GST_OBJECT_UNLOCK (self);
  }
  return TRUE;
}

/* Whether the writer can take another frame; warns the first time it cannot. */
static gboolean
writer_has_room (GstEfficientAdTrain * self)
{
  Private *p = self->priv;
  if (p->writer->has_room ())
    return TRUE;
  if (p->skipped_for_disk++ == 0)
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE, ("The disk cannot keep up with the capture: frames are skipped "
            "until the queued ones are written. Raise capture-interval or min-gap."), (NULL));
  return FALSE;
}

/* Converts the frame's region and queues it for writing unless it repeats the last capture; returns the file name
 * ("" when skipped). */
static std::string
capture_frame (GstEfficientAdTrain * self, GstVideoFrame * frame, const efficientad::gst::CaptureRules & rules,
    const GstVideoRectangle & roi, guint roi_serial, guint64 time)
{
  Private *p = self->priv;
  const efficientad::ImageView view = efficientad::gst::view_of<efficientad::ImageView> (frame);
  const GstVideoRectangle r = efficientad::gst::clip_roi_or_warn (GST_ELEMENT (self), roi, roi_serial, view.width,
      view.height, efficientad::is_yuv (view.format), p->roi_warning, "capturing whole frames");
  const efficientad::ImageView region = view.crop (r.x, r.y, r.w, r.h);
  efficientad::Image thumbnail = CapturePolicy::thumbnail (region);
  if (p->capture->repeats_last (rules, thumbnail))
    return "";
  efficientad::Image rgb = efficientad::to_rgb (region);
  GST_OBJECT_LOCK (self);
  std::string name = p->capture->record (std::move (thumbnail), time);
  GST_OBJECT_UNLOCK (self);
  p->writer->write (name, std::move (rgb));
  return name;
}

/* After a capture: starts training at max-frames, tells the bus. */
static void
after_capture (GstEfficientAdTrain * self, const std::string & name, const efficientad::gst::CaptureRules & rules)
{
  Private *p = self->priv;
  GST_OBJECT_LOCK (self);
  const guint captured = p->capture->captured ();
  const gboolean start = captured >= rules.max_frames && p->auto_train && start_training_locked (self);
  GST_OBJECT_UNLOCK (self);
  post_element_message (self, gst_structure_new ("frame-captured", "file", G_TYPE_STRING, name.c_str (),
          "frames", G_TYPE_UINT, captured, NULL));
  if (start)
    GST_INFO_OBJECT (self, "captured %u frames: training started", captured);
}

static GstFlowReturn
gst_efficientad_train_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstEfficientAdTrain *self = GST_EFFICIENTAD_TRAIN (trans);
  Private *p = self->priv;

  GST_OBJECT_LOCK (self);
  const efficientad::gst::CaptureRules rules = p->rules;
  const GstVideoRectangle roi = p->common.roi;
  const guint roi_serial = p->common.roi_serial;
  GST_OBJECT_UNLOCK (self);

  if (!p->capture->done (rules) && p->writer->failed () > 0) {  /* a frame was lost: capture stops */
    GST_OBJECT_LOCK (self);
    p->capture->finish ();
    GST_OBJECT_UNLOCK (self);
  }
  const GstClockTime time = gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));
  if (!p->capture->considers (rules, GST_CLOCK_TIME_IS_VALID (time) ? time : CapturePolicy::kNoTime) ||
      gst_buffer_get_size (buffer) == 0 || !writer_has_room (self))
    return GST_FLOW_OK;
  GstVideoFrame frame;
  if (!gst_video_frame_map (&frame, &GST_VIDEO_FILTER (trans)->in_info, buffer, GST_MAP_READ))
    return GST_FLOW_OK;  /* not a frame of the negotiated format: nothing to capture */
  const std::string name = capture_frame (self, &frame, rules, roi, roi_serial,
      GST_CLOCK_TIME_IS_VALID (time) ? time : CapturePolicy::kNoTime);
  gst_video_frame_unmap (&frame);
  if (!name.empty ())
    after_capture (self, name, rules);
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
  Private *p = self->priv;

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    GST_OBJECT_LOCK (self);
    const guint captured = p->capture ? p->capture->captured () : 0;
    /* With frames lost to the disk, training runs (and refuses, saying why) rather than report too few frames. */
    const gboolean lost = p->writer && p->writer->failed () > 0;
    if (!p->job && p->auto_train && (captured >= 2 || lost))
      start_training_locked (self);
    /* Hold the EOS while training runs: gst-launch and applications waiting for EOS then wait for the model. */
    const gboolean hold = p->job && !p->job->finished;
    p->eos_held = hold;
    const gboolean too_few = !p->job && p->auto_train;
    GST_OBJECT_UNLOCK (self);
    if (too_few) {
      gchar *error = g_strdup_printf ("end of stream with %u captured frame(s); training needs at least 2", captured);
      post_training_failed (self, error, FALSE);
      GST_ELEMENT_ERROR (self, STREAM, FAILED, ("No model trained: %s.", error), (NULL));
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
set_optional_string (std::optional<std::string> & target, const GValue * value)
{
  const gchar *text = g_value_get_string (value);
  target = text ? std::optional<std::string> (text) : std::nullopt;
}

static void
gst_efficientad_train_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstEfficientAdTrain *self = GST_EFFICIENTAD_TRAIN (object);
  Private *p = self->priv;

  GST_OBJECT_LOCK (self);
  std::string refusal;
  if (efficientad::gst::set_common_property (p->common, PROP_COMMON_FIRST, prop_id, value, &refusal)) {
    GST_OBJECT_UNLOCK (self);
    efficientad::gst::warn_refused_setting (GST_ELEMENT (self), refusal);
    return;
  }
  switch (prop_id) {
    case PROP_CAPTURE_FOLDER:
      set_optional_string (p->capture_folder, value);
      break;
    case PROP_RESUME:
      p->resume = g_value_get_boolean (value);
      break;
    case PROP_CAPTURE_INTERVAL:
      p->rules.interval = g_value_get_uint (value);
      break;
    case PROP_MIN_GAP:
      p->rules.min_gap_ns = g_value_get_uint64 (value);
      break;
    case PROP_DUPLICATE_THRESHOLD:
      p->rules.duplicate_threshold = g_value_get_double (value);
      break;
    case PROP_MAX_FRAMES:
      p->rules.max_frames = g_value_get_uint (value);
      break;
    case PROP_MODEL_FILE:
      set_optional_string (p->model_file, value);
      break;
    case PROP_AUTO_TRAIN:
      p->auto_train = g_value_get_boolean (value);
      break;
    case PROP_VARIANT:
      p->variant = (GstEfficientAdVariant) g_value_get_enum (value);
      break;
    case PROP_STEPS:
      p->steps = g_value_get_uint (value);
      break;
    case PROP_INPUT_SIZE:
      p->input_size = g_value_get_uint (value);
      break;
    case PROP_KEEP_ASPECT:
      p->keep_aspect = g_value_get_boolean (value);
      break;
    case PROP_TEACHER:{
      const gchar *teacher = g_value_get_string (value);
      p->teacher = teacher ? teacher : efficientad::kDefaultTeacher;
      break;
    }
    case PROP_PENALTY:
      p->penalty = (GstEfficientAdPenalty) g_value_get_enum (value);
      break;
    case PROP_PENALTY_IMAGES:
      set_optional_string (p->penalty_images, value);
      break;
    case PROP_SEED:
      p->seed = g_value_get_uint64 (value);
      break;
    case PROP_SCHEDULE:
      p->schedule = (GstEfficientAdSchedule) g_value_get_enum (value);
      break;
    case PROP_LEARNING_RATE:
      p->learning_rate = g_value_get_double (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* Captures whose file could not be written. Object lock held. */
static guint
frames_not_written (const Private & p)
{
  return p.writer ? (guint) p.writer->failed () : p.failed_writes;
}

static const gchar *
c_str_or_null (const std::optional<std::string> & text)
{
  return text ? text->c_str () : NULL;
}

static void
gst_efficientad_train_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstEfficientAdTrain *self = GST_EFFICIENTAD_TRAIN (object);
  const Private *p = self->priv;

  GST_OBJECT_LOCK (self);
  if (efficientad::gst::get_common_property (p->common, PROP_COMMON_FIRST, prop_id, value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_CAPTURE_FOLDER:
      g_value_set_string (value, c_str_or_null (p->capture_folder));
      break;
    case PROP_RESUME:
      g_value_set_boolean (value, p->resume);
      break;
    case PROP_CAPTURE_INTERVAL:
      g_value_set_uint (value, p->rules.interval);
      break;
    case PROP_MIN_GAP:
      g_value_set_uint64 (value, p->rules.min_gap_ns);
      break;
    case PROP_DUPLICATE_THRESHOLD:
      g_value_set_double (value, p->rules.duplicate_threshold);
      break;
    case PROP_MAX_FRAMES:
      g_value_set_uint (value, p->rules.max_frames);
      break;
    case PROP_MODEL_FILE:
      g_value_set_string (value, c_str_or_null (p->model_file));
      break;
    case PROP_AUTO_TRAIN:
      g_value_set_boolean (value, p->auto_train);
      break;
    case PROP_VARIANT:
      g_value_set_enum (value, p->variant);
      break;
    case PROP_STEPS:
      g_value_set_uint (value, p->steps);
      break;
    case PROP_INPUT_SIZE:
      g_value_set_uint (value, p->input_size);
      break;
    case PROP_KEEP_ASPECT:
      g_value_set_boolean (value, p->keep_aspect);
      break;
    case PROP_TEACHER:
      g_value_set_string (value, p->teacher.c_str ());
      break;
    case PROP_PENALTY:
      g_value_set_enum (value, p->penalty);
      break;
    case PROP_PENALTY_IMAGES:
      g_value_set_string (value, c_str_or_null (p->penalty_images));
      break;
    case PROP_SEED:
      g_value_set_uint64 (value, p->seed);
      break;
    case PROP_SCHEDULE:
      g_value_set_enum (value, p->schedule);
      break;
    case PROP_LEARNING_RATE:
      g_value_set_double (value, p->learning_rate);
      break;
    case PROP_CAPTURED_FRAMES:
      g_value_set_uint (value, p->capture ? p->capture->captured () - frames_not_written (*p) : 0);
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
  delete self->priv;
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
install_capture_properties (GObjectClass * gobject_class, GParamFlags rw_playing, GParamFlags rw_ready)
{
  const efficientad::gst::CaptureRules defaults;
  g_object_class_install_property (gobject_class, PROP_CAPTURE_FOLDER,
      g_param_spec_string ("capture-folder", "Capture folder",
          "Folder for the captured frames (created if missing); 'efficientad train --data' reads it too", NULL,
          rw_ready));
  g_object_class_install_property (gobject_class, PROP_RESUME,
      g_param_spec_boolean ("resume", "Resume", "Add to the images already in the capture folder (they count "
          "towards max-frames); off: refuse a folder that is not empty", TRUE, rw_ready));
  g_object_class_install_property (gobject_class, PROP_CAPTURE_INTERVAL,
      g_param_spec_uint ("capture-interval", "Capture interval", "Consider every Nth frame", 1, G_MAXUINT,
          defaults.interval, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MIN_GAP,
      g_param_spec_uint64 ("min-gap", "Minimum gap", "Least running time between two captured frames, in ns",
          0, G_MAXUINT64, defaults.min_gap_ns, rw_playing));
  g_object_class_install_property (gobject_class, PROP_DUPLICATE_THRESHOLD,
      g_param_spec_double ("duplicate-threshold", "Duplicate threshold",
          "Skip frames whose 32x32 thumbnail differs from the last captured one by less than this mean absolute "
          "difference in grey levels (0 keeps every frame)", 0, 255, defaults.duplicate_threshold, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MAX_FRAMES,
      g_param_spec_uint ("max-frames", "Max frames", "Stop capturing (and start training when auto-train is on) "
          "once the folder holds this many frames", 2, G_MAXUINT, defaults.max_frames, rw_playing));
  g_object_class_install_property (gobject_class, PROP_CAPTURED_FRAMES,
      g_param_spec_uint ("captured-frames", "Captured frames", "Images in the capture folder (read-only)", 0,
          G_MAXUINT, 0, (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
}

static void
install_training_properties (GObjectClass * gobject_class, GParamFlags rw_playing)
{
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
  g_object_class_install_property (gobject_class, PROP_KEEP_ASPECT,
      g_param_spec_boolean ("keep-aspect", "Keep aspect", "Network input keeps the captured frames' aspect ratio "
          "at about input-size x input-size pixels (short side at least 256; 'efficientad train --input-size auto')",
          FALSE, rw_playing));
  g_object_class_install_property (gobject_class, PROP_TEACHER,
      g_param_spec_string ("teacher", "Teacher", "'auto' (the shipped teacher where one ships for the variant, "
          "else random), 'shipped' (models/teacher_s.efad), 'random' or a teacher file", efficientad::kDefaultTeacher,
          rw_playing));
  g_object_class_install_property (gobject_class, PROP_PENALTY,
      g_param_spec_enum ("penalty", "Penalty", "The pretraining penalty's images where penalty-images is not set",
          GST_TYPE_EFFICIENTAD_PENALTY, DEFAULT_PENALTY, rw_playing));
  g_object_class_install_property (gobject_class, PROP_PENALTY_IMAGES,
      g_param_spec_string ("penalty-images", "Penalty images", "Folder of natural images (the paper's ImageNet) "
          "for the pretraining penalty; set, it replaces 'penalty'", NULL, rw_playing));
  g_object_class_install_property (gobject_class, PROP_SEED,
      g_param_spec_uint64 ("seed", "Seed", "Random seed of training", 0, G_MAXUINT64, DEFAULT_SEED, rw_playing));
  g_object_class_install_property (gobject_class, PROP_SCHEDULE,
      g_param_spec_enum ("schedule", "Schedule", "Learning rate over the training steps",
          GST_TYPE_EFFICIENTAD_SCHEDULE, GST_EFFICIENTAD_SCHEDULE_PAPER, rw_playing));
  g_object_class_install_property (gobject_class, PROP_LEARNING_RATE,
      g_param_spec_double ("learning-rate", "Learning rate", "The schedule's peak learning rate; 0: its default "
          "(paper 1e-4, cosine 5e-4)", 0, 0.01, 0, rw_playing));
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
  install_capture_properties (gobject_class, rw_playing, rw_ready);
  install_training_properties (gobject_class, rw_playing);
  efficientad::gst::install_common_properties (gobject_class, PROP_COMMON_FIRST, {
        {"Where to train", rw_playing},
        {"Training precision: fast (bf16 where the CPU has it) or exact (fp32)", rw_playing},
        {"CPU threads for training; 0 = one per core", rw_playing},
        {"Rectangle to capture, \"x,y,width,height\"; empty for the whole frame. Use the same roi on efficientad",
              rw_ready}});

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
  efficientad::gst::add_video_pad_templates (element_class);

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
  self->priv = new Private ();
  /* Capture must see every frame it is asked to consider. */
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);  /* frames are only read: never copied */
}
