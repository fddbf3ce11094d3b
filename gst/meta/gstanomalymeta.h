/* GstAnomalyMeta: the result of anomaly detection attached to a video buffer by the efficientad element.
 *
 * Plain C, GLib-style, so that C, C++ and (through GObject introspection) Python consumers can read it.
 * The map covers `rect`, a rectangle of the frame in pixels; its resolution is independent of the frame's.
 */
#ifndef __GST_ANOMALY_META_H__
#define __GST_ANOMALY_META_H__

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_ANOMALY_META_API_TYPE (gst_anomaly_meta_api_get_type ())
#define GST_ANOMALY_META_INFO (gst_anomaly_meta_get_info ())

typedef struct _GstAnomalyMeta GstAnomalyMeta;
typedef struct _GstAnomalyRegion GstAnomalyRegion;

/**
 * GstAnomalyRegion:
 * @box: bounding box of the region in frame pixels
 * @area: pixels of the frame above the threshold in the region (its cells scaled to frame pixels)
 * @peak: largest map value in the region
 * @mean: mean map value over the region
 *
 * A defect region: a connected part (8-connectivity) of the anomaly map above the threshold.
 */
struct _GstAnomalyRegion {
  GstVideoRectangle box;
  guint64 area;
  gfloat peak;
  gfloat mean;
};

/**
 * GstAnomalyMeta:
 * @meta: parent #GstMeta
 * @score: image score of the analysed region, the maximum of the normalised map (0 is the 0.9-quantile and
 *   0.1 the 0.995-quantile of normal pixels)
 * @threshold: the decision threshold in use when the frame was analysed
 * @anomalous: whether @score is above @threshold
 * @map_width: width of the anomaly map in values
 * @map_height: height of the anomaly map in values
 * @map: (skip): the combined normalised anomaly map, @map_width x @map_height floats, row-major; read it with
 *   gst_anomaly_meta_get_map() or gst_anomaly_meta_get_value()
 * @rect: the rectangle of the frame (pixels) that the map covers
 * @model_id: identifier of the model that produced the result (as `efficientad info` prints it)
 * @frame_number: index of the frame in the stream since the detector started (0 for the first)
 * @alarm: whether the detector's alarm (anomalous frames with its hysteresis) is on after this frame; a change
 *   from the previous analysed frame is an alarm edge
 * @n_regions: number of defect regions, largest first
 * @regions: (array length=n_regions): the defect regions; read them with gst_anomaly_meta_get_region()
 *
 * Anomaly detection result of one analysed video frame.
 */
struct _GstAnomalyMeta {
  GstMeta meta;

  gfloat score;
  gfloat threshold;
  gboolean anomalous;

  guint map_width;
  guint map_height;
  gfloat *map;
  GstVideoRectangle rect;

  gchar *model_id;
  guint64 frame_number;

  gboolean alarm;
  guint n_regions;
  GstAnomalyRegion *regions;
};

GType gst_anomaly_meta_api_get_type (void);
const GstMetaInfo *gst_anomaly_meta_get_info (void);

GstAnomalyMeta *gst_buffer_add_anomaly_meta (GstBuffer *buffer, gfloat score, gfloat threshold,
    gboolean anomalous, const gfloat *map, guint map_width, guint map_height,
    const GstVideoRectangle *rect, const gchar *model_id, guint64 frame_number);

GstAnomalyMeta *gst_buffer_get_anomaly_meta (GstBuffer *buffer);

void gst_anomaly_meta_set_regions (GstAnomalyMeta *meta, const GstAnomalyRegion *regions, guint n_regions);
const GstAnomalyRegion *gst_anomaly_meta_get_region (GstAnomalyMeta *meta, guint index);

const gfloat *gst_anomaly_meta_get_map (GstAnomalyMeta *meta, gsize *n_values);
gfloat gst_anomaly_meta_get_value (GstAnomalyMeta *meta, guint x, guint y);

G_END_DECLS

#endif /* __GST_ANOMALY_META_H__ */
