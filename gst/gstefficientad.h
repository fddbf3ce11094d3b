/* efficientad: anomaly detection on video frames (see gstefficientad.cpp). */
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_EFFICIENTAD (gst_efficientad_get_type ())
G_DECLARE_FINAL_TYPE (GstEfficientAd, gst_efficientad, GST, EFFICIENTAD, GstVideoFilter)

/* Which element messages go to the bus. */
typedef enum {
  GST_EFFICIENTAD_MESSAGES_NONE,
  GST_EFFICIENTAD_MESSAGES_EDGES,
  GST_EFFICIENTAD_MESSAGES_ALL,
} GstEfficientAdMessages;

GST_ELEMENT_REGISTER_DECLARE (efficientad);

G_END_DECLS
