/* The efficientad plugin: registers its elements, nothing else. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

GST_ELEMENT_REGISTER_DECLARE (efficientad);
GST_ELEMENT_REGISTER_DECLARE (anomalyoverlay);
GST_ELEMENT_REGISTER_DECLARE (efficientadtrain);
GST_ELEMENT_REGISTER_DECLARE (anomalypublish);

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ok = FALSE;

  ok |= GST_ELEMENT_REGISTER (efficientad, plugin);
  ok |= GST_ELEMENT_REGISTER (anomalyoverlay, plugin);
  ok |= GST_ELEMENT_REGISTER (efficientadtrain, plugin);
  ok |= GST_ELEMENT_REGISTER (anomalypublish, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, efficientad,
    "Visual anomaly detection with EfficientAD", plugin_init, EFFICIENTAD_VERSION, "LGPL",
    "gst-efficientad", "Unknown package origin")
