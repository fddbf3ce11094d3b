/* anomalypublish: results of efficientad to a JSON-lines file and an MQTT broker (see gstanomalypublish.cpp). */
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_ANOMALY_PUBLISH (gst_anomaly_publish_get_type ())
G_DECLARE_FINAL_TYPE (GstAnomalyPublish, gst_anomaly_publish, GST, ANOMALY_PUBLISH, GstVideoFilter)

/* Which analysed frames become records. */
typedef enum {
  GST_ANOMALY_PUBLISH_FRAMES,     /* every analysed frame */
  GST_ANOMALY_PUBLISH_ANOMALOUS,  /* anomalous frames and alarm edges */
  GST_ANOMALY_PUBLISH_EDGES,      /* alarm begin and end only */
} GstAnomalyPublishWhen;

GST_ELEMENT_REGISTER_DECLARE (anomalypublish);

G_END_DECLS
