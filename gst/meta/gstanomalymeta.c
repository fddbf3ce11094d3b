/* GstAnomalyMeta, following gstvideometa.c: API type with tags, meta info with init/free/transform. */
#include "gstanomalymeta.h"

#include <string.h>

GType
gst_anomaly_meta_api_get_type (void)
{
  static GType type = 0;
  /* "video": describes video frames; "size": the rectangle depends on the frame size, so elements that resize
   * frames keep the meta only through its scale transform. */
  static const gchar *tags[] = { GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR, NULL };

  if (g_once_init_enter (&type)) {
    GType registered = gst_meta_api_type_register ("GstAnomalyMetaAPI", tags);
    g_once_init_leave (&type, registered);
  }
  return type;
}

static gboolean
gst_anomaly_meta_init (GstMeta * meta, G_GNUC_UNUSED gpointer params, G_GNUC_UNUSED GstBuffer * buffer)
{
  GstAnomalyMeta *m = (GstAnomalyMeta *) meta;

  m->score = 0.0f;
  m->threshold = 0.0f;
  m->anomalous = FALSE;
  m->map_width = m->map_height = 0;
  m->map = NULL;
  memset (&m->rect, 0, sizeof (m->rect));
  m->model_id = NULL;
  m->frame_number = 0;
  m->alarm = FALSE;
  m->n_regions = 0;
  m->regions = NULL;
  return TRUE;
}

static void
gst_anomaly_meta_free (GstMeta * meta, G_GNUC_UNUSED GstBuffer * buffer)
{
  GstAnomalyMeta *m = (GstAnomalyMeta *) meta;

  g_free (m->map);
  g_free (m->model_id);
  g_free (m->regions);
}

/* A rectangle of a frame scaled from in_w x in_h to out_w x out_h. */
static GstVideoRectangle
scale_rectangle (GstVideoRectangle r, gint in_w, gint in_h, gint out_w, gint out_h)
{
  GstVideoRectangle s;
  s.x = (gint) gst_util_uint64_scale_int_round (r.x, out_w, in_w);
  s.y = (gint) gst_util_uint64_scale_int_round (r.y, out_h, in_h);
  s.w = (gint) gst_util_uint64_scale_int_round (r.w, out_w, in_w);
  s.h = (gint) gst_util_uint64_scale_int_round (r.h, out_h, in_h);
  return s;
}

static gboolean
gst_anomaly_meta_transform (GstBuffer * dest, GstMeta * meta, G_GNUC_UNUSED GstBuffer * buffer, GQuark type,
    gpointer data)
{
  GstAnomalyMeta *src = (GstAnomalyMeta *) meta;
  GstAnomalyMeta *copy;
  GstVideoRectangle rect = src->rect;
  GstAnomalyRegion *regions = g_memdup2 (src->regions, src->n_regions * sizeof (GstAnomalyRegion));

  if (GST_META_TRANSFORM_IS_COPY (type)) {
    /* A copy of the whole buffer or of a region: rectangles stay in frame coordinates. */
  } else if (GST_VIDEO_META_TRANSFORM_IS_SCALE (type)) {
    GstVideoMetaTransform *scale = (GstVideoMetaTransform *) data;
    gint in_w = GST_VIDEO_INFO_WIDTH (scale->in_info), in_h = GST_VIDEO_INFO_HEIGHT (scale->in_info);
    gint out_w = GST_VIDEO_INFO_WIDTH (scale->out_info), out_h = GST_VIDEO_INFO_HEIGHT (scale->out_info);
    guint i;

    if (in_w <= 0 || in_h <= 0) {
      g_free (regions);
      return FALSE;
    }
    rect = scale_rectangle (rect, in_w, in_h, out_w, out_h);
    for (i = 0; i < src->n_regions; ++i) {
      regions[i].box = scale_rectangle (regions[i].box, in_w, in_h, out_w, out_h);
      regions[i].area = (guint64) ((gdouble) regions[i].area * out_w * out_h / ((gdouble) in_w * in_h) + 0.5);
    }
  } else {
    /* Rotations, flips and the like: the map would no longer line up with the picture. */
    g_free (regions);
    return FALSE;
  }
  copy = gst_buffer_add_anomaly_meta (dest, src->score, src->threshold, src->anomalous, src->map,
      src->map_width, src->map_height, &rect, src->model_id, src->frame_number);
  if (copy != NULL) {
    copy->alarm = src->alarm;
    gst_anomaly_meta_set_regions (copy, regions, src->n_regions);
  }
  g_free (regions);
  return copy != NULL;
}

const GstMetaInfo *
gst_anomaly_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *registered = gst_meta_register (GST_ANOMALY_META_API_TYPE, "GstAnomalyMeta",
        sizeof (GstAnomalyMeta), gst_anomaly_meta_init, gst_anomaly_meta_free, gst_anomaly_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) registered);
  }
  return info;
}

/**
 * gst_buffer_add_anomaly_meta:
 * @buffer: a writable #GstBuffer
 * @score: image score
 * @threshold: decision threshold
 * @anomalous: whether @score is above @threshold
 * @map: (array) (nullable): @map_width x @map_height floats, row-major; copied
 * @map_width: map width
 * @map_height: map height
 * @rect: the rectangle of the frame the map covers
 * @model_id: (nullable): identifier of the model
 * @frame_number: index of the analysed frame in the stream
 *
 * Attaches an anomaly detection result to @buffer.
 *
 * Returns: (transfer none) (nullable): the new meta, or %NULL when the arguments are inconsistent
 */
GstAnomalyMeta *
gst_buffer_add_anomaly_meta (GstBuffer * buffer, gfloat score, gfloat threshold, gboolean anomalous,
    const gfloat * map, guint map_width, guint map_height, const GstVideoRectangle * rect,
    const gchar * model_id, guint64 frame_number)
{
  GstAnomalyMeta *meta;
  gsize values = (gsize) map_width * map_height;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (rect != NULL, NULL);
  g_return_val_if_fail ((map != NULL) == (values > 0), NULL);

  meta = (GstAnomalyMeta *) gst_buffer_add_meta (buffer, GST_ANOMALY_META_INFO, NULL);
  if (meta == NULL)
    return NULL;
  meta->score = score;
  meta->threshold = threshold;
  meta->anomalous = anomalous;
  meta->map_width = map_width;
  meta->map_height = map_height;
  meta->map = values ? g_memdup2 (map, values * sizeof (gfloat)) : NULL;
  meta->rect = *rect;
  meta->model_id = g_strdup (model_id);
  meta->frame_number = frame_number;
  return meta;
}

/**
 * gst_buffer_get_anomaly_meta:
 * @buffer: a #GstBuffer
 *
 * Returns: (transfer none) (nullable): the anomaly detection result attached to @buffer, if any
 */
GstAnomalyMeta *
gst_buffer_get_anomaly_meta (GstBuffer * buffer)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  return (GstAnomalyMeta *) gst_buffer_get_meta (buffer, GST_ANOMALY_META_API_TYPE);
}

/**
 * gst_anomaly_meta_set_regions:
 * @meta: a #GstAnomalyMeta
 * @regions: (array length=n_regions) (nullable): the defect regions, largest first; copied
 * @n_regions: their number
 *
 * Replaces the defect regions of @meta.
 */
void
gst_anomaly_meta_set_regions (GstAnomalyMeta * meta, const GstAnomalyRegion * regions, guint n_regions)
{
  g_return_if_fail (meta != NULL);
  g_return_if_fail (regions != NULL || n_regions == 0);
  g_free (meta->regions);
  meta->regions = n_regions ? g_memdup2 (regions, n_regions * sizeof (GstAnomalyRegion)) : NULL;
  meta->n_regions = n_regions;
}

/**
 * gst_anomaly_meta_get_region:
 * @meta: a #GstAnomalyMeta
 * @index: less than @meta's n_regions; 0 is the largest region
 *
 * Returns: (transfer none) (nullable): the defect region, or %NULL when @index is out of range
 */
const GstAnomalyRegion *
gst_anomaly_meta_get_region (GstAnomalyMeta * meta, guint index)
{
  g_return_val_if_fail (meta != NULL, NULL);
  return index < meta->n_regions ? &meta->regions[index] : NULL;
}

/**
 * gst_anomaly_meta_get_map:
 * @meta: a #GstAnomalyMeta
 * @n_values: (out): number of values, map_width x map_height
 *
 * Returns: (transfer none) (array length=n_values): the anomaly map, row-major
 */
const gfloat *
gst_anomaly_meta_get_map (GstAnomalyMeta * meta, gsize * n_values)
{
  g_return_val_if_fail (meta != NULL, NULL);
  if (n_values)
    *n_values = (gsize) meta->map_width * meta->map_height;
  return meta->map;
}

/**
 * gst_anomaly_meta_get_value:
 * @meta: a #GstAnomalyMeta
 * @x: column, less than map_width
 * @y: row, less than map_height
 *
 * Returns: the map value at (@x, @y), or 0 outside the map
 */
gfloat
gst_anomaly_meta_get_value (GstAnomalyMeta * meta, guint x, guint y)
{
  g_return_val_if_fail (meta != NULL, 0.0f);
  if (x >= meta->map_width || y >= meta->map_height)
    return 0.0f;
  return meta->map[(gsize) y * meta->map_width + x];
}
