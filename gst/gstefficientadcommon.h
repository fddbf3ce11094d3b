/* What efficientad and efficientadtrain share: the device and mode enums, the device/mode/threads/roi properties
 * (installed, set and read in one place, as NNStreamer's tensor_filter_common), their mapping to the engine's
 * options, and the roi clipping with its one-time warning. */
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

/* Where the networks run. */
typedef enum {
  GST_EFFICIENTAD_DEVICE_AUTO,
  GST_EFFICIENTAD_DEVICE_CPU,
  GST_EFFICIENTAD_DEVICE_CUDA,
} GstEfficientAdDevice;

/* Inference (efficientad) or training (efficientadtrain) precision: fast reduced precision or exact fp32. */
typedef enum {
  GST_EFFICIENTAD_MODE_FAST,
  GST_EFFICIENTAD_MODE_EXACT,
} GstEfficientAdMode;

#define GST_TYPE_EFFICIENTAD_DEVICE (gst_efficientad_device_get_type ())
GType gst_efficientad_device_get_type (void);
#define GST_TYPE_EFFICIENTAD_MODE (gst_efficientad_mode_get_type ())
GType gst_efficientad_mode_get_type (void);

G_END_DECLS

#ifdef __cplusplus
#include <string>

#include "efficientad/detector.h"
#include "efficientad/trainer.h"

namespace efficientad::gst {

/* The shared properties' values; the element reads and writes them under its object lock. */
struct CommonSettings {
  GstEfficientAdDevice device = GST_EFFICIENTAD_DEVICE_AUTO;
  GstEfficientAdMode mode = GST_EFFICIENTAD_MODE_FAST;
  guint threads = 0;
  std::string roi_text;
  GstVideoRectangle roi{0, 0, 0, 0}; /* w == 0: the whole frame */
  guint roi_serial = 0;              /* counts roi changes: each new roi may warn once */
  std::string refused_roi;           /* the last roi text refused (cleared by a good one): start() fails on it */
};

/* How one element documents a shared property and when it may change. */
struct PropertyDoc {
  const gchar *blurb;
  GParamFlags flags;
};
struct CommonPropertyDocs {
  PropertyDoc device, mode, threads, roi;
};

/* The shared properties take the ids first_id .. first_id + kCommonProperties - 1 in the element's enum. */
constexpr guint kCommonProperties = 4;
void install_common_properties (GObjectClass * klass, guint first_id, const CommonPropertyDocs & docs);
/* FALSE when prop_id is not a shared one. An unusable roi is refused, keeping the old one: *refusal then says why,
 * for the element to post as a warning once it has released its object lock. */
gboolean set_common_property (CommonSettings & settings, guint first_id, guint prop_id, const GValue * value,
    std::string * refusal);
/* Posts a refusal from set_common_property as a warning (call without the object lock). */
void warn_refused_setting (GstElement * element, const std::string & refusal);
/* FALSE, after posting an error, when the settings cannot start (an unusable roi was set). Object lock not held. */
gboolean check_common_settings (GstElement * element, const CommonSettings & settings);
gboolean get_common_property (const CommonSettings & settings, guint first_id, guint prop_id, GValue * value);

Device engine_device (GstEfficientAdDevice device);
DetectorOptions detector_options (const CommonSettings & settings);
/* Device, precision and threads of a training run. */
void apply_training_settings (const CommonSettings & settings, TrainOptions & options);

/* Warns once per roi (*warned_serial remembers which). */
struct RoiWarning {
  guint warned_serial = G_MAXUINT;
};
/* The roi clipped to a frame (see clip_region); the first time a roi misses the frames, warns on `element` that
 * it falls back to whole frames: `fallback` says what it does then ("analysing whole frames"). */
GstVideoRectangle clip_roi_or_warn (GstElement * element, const GstVideoRectangle & roi, guint roi_serial,
    gint width, gint height, bool yuv, RoiWarning & warning, const gchar * fallback);

}  // namespace efficientad::gst
#endif
