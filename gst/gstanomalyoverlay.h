/* anomalyoverlay: draws the anomaly maps of efficientad over the video (see gstanomalyoverlay.cpp). */
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_ANOMALY_OVERLAY (gst_anomaly_overlay_get_type ())
G_DECLARE_FINAL_TYPE (GstAnomalyOverlay, gst_anomaly_overlay, GST, ANOMALY_OVERLAY, GstVideoFilter)

typedef enum {
  GST_ANOMALY_OVERLAY_COLORMAP_JET,
  GST_ANOMALY_OVERLAY_COLORMAP_TURBO,
  GST_ANOMALY_OVERLAY_COLORMAP_INFERNO,
  GST_ANOMALY_OVERLAY_COLORMAP_VIRIDIS,
} GstAnomalyOverlayColormap;

GST_ELEMENT_REGISTER_DECLARE (anomalyoverlay);

G_END_DECLS
