/**
 * SECTION:element-anomalyoverlay
 * @title: anomalyoverlay
 *
 * Draws the #GstAnomalyMeta that `efficientad` attaches: a colour-mapped heatmap blended over the analysed
 * rectangle where the map exceeds #GstAnomalyOverlay:min-score, outlines around regions above the threshold,
 * the boxes of the defect regions (#GstAnomalyOverlay:draw-regions) and the score with the decision. Works in place on RGB, BGR, RGBA, BGRA, RGBx, BGRx, xRGB, xBGR, NV12, I420
 * and GRAY8 frames. Frames without the meta pass untouched and are not even mapped.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=line.mp4 ! decodebin ! efficientad model-file=washer.efad ! anomalyoverlay alpha=0.5 colormap=inferno ! videoconvert ! autovideosink
 * ]|
 */
#include "gstanomalyoverlay.h"

#include <exception>
#include <vector>

#include "efficientad/overlay.h"
#include "meta/gstanomalymeta.h"
#include "videoframe.h"

GST_DEBUG_CATEGORY_STATIC (gst_anomaly_overlay_debug);
#define GST_CAT_DEFAULT gst_anomaly_overlay_debug

enum {
  PROP_0,
  PROP_ALPHA,
  PROP_COLORMAP,
  PROP_MIN_SCORE,
  PROP_MAX_SCORE,
  PROP_OUTLINE,
  PROP_SHOW_SCORE,
  PROP_DRAW_REGIONS,
};

#define DEFAULT_ALPHA 0.6f
#define DEFAULT_COLORMAP GST_ANOMALY_OVERLAY_COLORMAP_JET
#define DEFAULT_MIN_SCORE 0.1f
#define DEFAULT_MAX_SCORE 0.0f
#define DEFAULT_OUTLINE TRUE
#define DEFAULT_SHOW_SCORE TRUE
#define DEFAULT_DRAW_REGIONS TRUE

struct _GstAnomalyOverlay {
  GstVideoFilter parent;
  efficientad::OverlayStyle style;  /* under the object lock */
  gboolean draw_regions;
};

#define gst_anomaly_overlay_parent_class parent_class
G_DEFINE_TYPE (GstAnomalyOverlay, gst_anomaly_overlay, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (anomalyoverlay, "anomalyoverlay", GST_RANK_NONE, GST_TYPE_ANOMALY_OVERLAY);

#define GST_TYPE_ANOMALY_OVERLAY_COLORMAP (gst_anomaly_overlay_colormap_get_type ())
static GType
gst_anomaly_overlay_colormap_get_type (void)
{
  static const GEnumValue values[] = {
    {GST_ANOMALY_OVERLAY_COLORMAP_JET, "Blue to red", "jet"},
    {GST_ANOMALY_OVERLAY_COLORMAP_TURBO, "Improved rainbow", "turbo"},
    {GST_ANOMALY_OVERLAY_COLORMAP_INFERNO, "Black to yellow, perceptually uniform", "inferno"},
    {GST_ANOMALY_OVERLAY_COLORMAP_VIRIDIS, "Blue to yellow, perceptually uniform", "viridis"},
    {0, NULL, NULL},
  };
  static const GType type = g_enum_register_static ("GstAnomalyOverlayColormap", values);
  return type;
}

static void
gst_anomaly_overlay_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstAnomalyOverlay *self = GST_ANOMALY_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_ALPHA:
      self->style.alpha = g_value_get_float (value);
      break;
    case PROP_COLORMAP:
      self->style.colormap = (efficientad::Colormap) g_value_get_enum (value);
      break;
    case PROP_MIN_SCORE:
      self->style.min_value = g_value_get_float (value);
      break;
    case PROP_MAX_SCORE:
      self->style.max_value = g_value_get_float (value);
      break;
    case PROP_OUTLINE:
      self->style.outline = g_value_get_boolean (value);
      break;
    case PROP_SHOW_SCORE:
      self->style.label = g_value_get_boolean (value);
      break;
    case PROP_DRAW_REGIONS:
      self->draw_regions = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_anomaly_overlay_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstAnomalyOverlay *self = GST_ANOMALY_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_ALPHA:
      g_value_set_float (value, self->style.alpha);
      break;
    case PROP_COLORMAP:
      g_value_set_enum (value, (gint) self->style.colormap);
      break;
    case PROP_MIN_SCORE:
      g_value_set_float (value, self->style.min_value);
      break;
    case PROP_MAX_SCORE:
      g_value_set_float (value, self->style.max_value);
      break;
    case PROP_OUTLINE:
      g_value_set_boolean (value, self->style.outline);
      break;
    case PROP_SHOW_SCORE:
      g_value_set_boolean (value, self->style.label);
      break;
    case PROP_DRAW_REGIONS:
      g_value_set_boolean (value, self->draw_regions);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* The defect regions' boxes of the meta, in frame pixels. */
static std::vector<efficientad::Rect>
region_boxes (GstAnomalyMeta * meta)
{
  std::vector<efficientad::Rect> boxes;
  for (guint i = 0; i < meta->n_regions; ++i) {
    const GstVideoRectangle &b = meta->regions[i].box;
    boxes.push_back ({b.x, b.y, b.w, b.h});
  }
  return boxes;
}

static GstFlowReturn
gst_anomaly_overlay_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstAnomalyOverlay *self = GST_ANOMALY_OVERLAY (trans);
  GstVideoFilter *filter = GST_VIDEO_FILTER (trans);

  GstAnomalyMeta *meta = gst_buffer_get_anomaly_meta (buffer);
  if (meta == NULL || meta->map == NULL)
    return GST_FLOW_OK;  /* nothing to draw: the frame is not even mapped */

  GST_OBJECT_LOCK (self);
  const efficientad::OverlayStyle style = self->style;
  const gboolean draw_regions = self->draw_regions;
  GST_OBJECT_UNLOCK (self);

  GstVideoFrame frame;
  if (!gst_video_frame_map (&frame, &filter->in_info, buffer, GST_MAP_READWRITE)) {
    GST_WARNING_OBJECT (self, "buffer does not hold a frame of the negotiated format: not drawn on");
    return GST_FLOW_OK;
  }
  try {
    const efficientad::Rect region {meta->rect.x, meta->rect.y, meta->rect.w, meta->rect.h};
    const efficientad::MutableImageView view = efficientad::gst::view_of<efficientad::MutableImageView> (&frame);
    efficientad::draw_anomaly_overlay (view, meta->map, (int) meta->map_width, (int) meta->map_height, region,
        meta->score, meta->threshold, style);
    if (draw_regions)
      efficientad::draw_boxes (view, region_boxes (meta));
  } catch (const std::exception & e) {
    GST_WARNING_OBJECT (self, "overlay not drawn: %s", e.what ());
  }
  gst_video_frame_unmap (&frame);
  return GST_FLOW_OK;
}

static void
gst_anomaly_overlay_class_init (GstAnomalyOverlayClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const GParamFlags rw = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

  gobject_class->set_property = gst_anomaly_overlay_set_property;
  gobject_class->get_property = gst_anomaly_overlay_get_property;

  g_object_class_install_property (gobject_class, PROP_ALPHA,
      g_param_spec_float ("alpha", "Alpha", "Opacity of the hottest colour, 0 (invisible) to 1 (opaque)", 0.0f, 1.0f,
          DEFAULT_ALPHA, rw));
  g_object_class_install_property (gobject_class, PROP_COLORMAP,
      g_param_spec_enum ("colormap", "Colour map", "Colours of the heatmap", GST_TYPE_ANOMALY_OVERLAY_COLORMAP,
          DEFAULT_COLORMAP, rw));
  g_object_class_install_property (gobject_class, PROP_MIN_SCORE,
      g_param_spec_float ("min-score", "Minimum score",
          "Map values at or below this are not drawn (normalised units; 0.1 = the 99.5 % quantile of normal "
          "pixels)", -G_MAXFLOAT, G_MAXFLOAT, DEFAULT_MIN_SCORE, rw));
  g_object_class_install_property (gobject_class, PROP_MAX_SCORE,
      g_param_spec_float ("max-score", "Maximum score",
          "Map value drawn in the hottest colour; 0 = twice the frame's threshold", 0.0f, G_MAXFLOAT,
          DEFAULT_MAX_SCORE, rw));
  g_object_class_install_property (gobject_class, PROP_OUTLINE,
      g_param_spec_boolean ("outline", "Outline", "Outline regions whose map exceeds the threshold", DEFAULT_OUTLINE,
          rw));
  g_object_class_install_property (gobject_class, PROP_SHOW_SCORE,
      g_param_spec_boolean ("show-score", "Show score", "Print the score and the decision in the region's corner",
          DEFAULT_SHOW_SCORE, rw));
  g_object_class_install_property (gobject_class, PROP_DRAW_REGIONS,
      g_param_spec_boolean ("draw-regions", "Draw regions", "Draw the boxes of the defect regions efficientad found "
          "(see its min-region-area)", DEFAULT_DRAW_REGIONS, rw));

  gst_element_class_set_static_metadata (element_class, "Anomaly map overlay", "Filter/Effect/Video",
      "Draws the anomaly maps and scores of efficientad over the video", "gst-efficientad maintainers");
  efficientad::gst::add_video_pad_templates (element_class);

  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_anomaly_overlay_transform_ip);

  gst_type_mark_as_plugin_api (GST_TYPE_ANOMALY_OVERLAY_COLORMAP, (GstPluginAPIFlags) 0);
  GST_DEBUG_CATEGORY_INIT (gst_anomaly_overlay_debug, "anomalyoverlay", 0, "Anomaly map overlay");
}

static void
gst_anomaly_overlay_init (GstAnomalyOverlay * self)
{
  self->style.alpha = DEFAULT_ALPHA;
  self->style.colormap = (efficientad::Colormap) DEFAULT_COLORMAP;
  self->style.min_value = DEFAULT_MIN_SCORE;
  self->style.max_value = DEFAULT_MAX_SCORE;
  self->style.outline = DEFAULT_OUTLINE;
  self->style.label = DEFAULT_SHOW_SCORE;
  self->draw_regions = DEFAULT_DRAW_REGIONS;
}
