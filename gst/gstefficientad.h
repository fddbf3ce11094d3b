/* efficientad: anomaly detection on video frames (see gstefficientad.cpp). */
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_EFFICIENTAD (gst_efficientad_get_type ())
G_DECLARE_FINAL_TYPE (GstEfficientAd, gst_efficientad, GST, EFFICIENTAD, GstVideoFilter)

/* Where the networks run. */
typedef enum {
  GST_EFFICIENTAD_DEVICE_AUTO,
  GST_EFFICIENTAD_DEVICE_CPU,
  GST_EFFICIENTAD_DEVICE_CUDA,
} GstEfficientAdDevice;

/* Inference precision: exact fp32 or the fast reduced-precision path. */
typedef enum {
  GST_EFFICIENTAD_MODE_FAST,
  GST_EFFICIENTAD_MODE_EXACT,
} GstEfficientAdMode;

/* Shared with efficientadtrain. */
#define GST_TYPE_EFFICIENTAD_DEVICE (gst_efficientad_device_get_type ())
GType gst_efficientad_device_get_type (void);
#define GST_TYPE_EFFICIENTAD_MODE (gst_efficientad_mode_get_type ())
GType gst_efficientad_mode_get_type (void);

/* Which element messages go to the bus. */
typedef enum {
  GST_EFFICIENTAD_MESSAGES_NONE,
  GST_EFFICIENTAD_MESSAGES_EDGES,
  GST_EFFICIENTAD_MESSAGES_ALL,
} GstEfficientAdMessages;

GST_ELEMENT_REGISTER_DECLARE (efficientad);

G_END_DECLS
