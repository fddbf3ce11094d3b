#include "gstefficientadcommon.h"

#include "videoframe.h"

GST_DEBUG_CATEGORY_STATIC (gst_efficientad_common_debug);
#define GST_CAT_DEFAULT gst_efficientad_common_debug

enum CommonProperty {
  COMMON_DEVICE,
  COMMON_MODE,
  COMMON_THREADS,
  COMMON_ROI,
};

GType
gst_efficientad_device_get_type (void)
{
  static const GEnumValue values[] = {
    {GST_EFFICIENTAD_DEVICE_AUTO, "CUDA when this build and machine have it, else the CPU", "auto"},
    {GST_EFFICIENTAD_DEVICE_CPU, "CPU", "cpu"},
    {GST_EFFICIENTAD_DEVICE_CUDA, "NVIDIA GPU (needs a CUDA build of LibTorch)", "cuda"},
    {0, NULL, NULL},
  };
  static const GType type = g_enum_register_static ("GstEfficientAdDevice", values);
  return type;
}

GType
gst_efficientad_mode_get_type (void)
{
  static const GEnumValue values[] = {
    {GST_EFFICIENTAD_MODE_FAST, "Reduced precision (int8/bf16 on the CPU), about 4x faster", "fast"},
    {GST_EFFICIENTAD_MODE_EXACT, "fp32 with the paper's formulas", "exact"},
    {0, NULL, NULL},
  };
  static const GType type = g_enum_register_static ("GstEfficientAdMode", values);
  return type;
}

namespace efficientad::gst {

void
install_common_properties (GObjectClass * klass, guint first_id, const CommonPropertyDocs & docs)
{
  if (!gst_efficientad_common_debug)
    GST_DEBUG_CATEGORY_INIT (gst_efficientad_common_debug, "efficientadcommon", 0, "EfficientAD element properties");
  g_object_class_install_property (klass, first_id + COMMON_DEVICE,
      g_param_spec_enum ("device", "Device", docs.device.blurb, GST_TYPE_EFFICIENTAD_DEVICE,
          GST_EFFICIENTAD_DEVICE_AUTO, docs.device.flags));
  g_object_class_install_property (klass, first_id + COMMON_MODE,
      g_param_spec_enum ("mode", "Mode", docs.mode.blurb, GST_TYPE_EFFICIENTAD_MODE, GST_EFFICIENTAD_MODE_FAST,
          docs.mode.flags));
  g_object_class_install_property (klass, first_id + COMMON_THREADS,
      g_param_spec_uint ("threads", "Threads", docs.threads.blurb, 0, 1024, 0, docs.threads.flags));
  g_object_class_install_property (klass, first_id + COMMON_ROI,
      g_param_spec_string ("roi", "Region of interest", docs.roi.blurb, "", docs.roi.flags));
  gst_type_mark_as_plugin_api (GST_TYPE_EFFICIENTAD_DEVICE, (GstPluginAPIFlags) 0);
  gst_type_mark_as_plugin_api (GST_TYPE_EFFICIENTAD_MODE, (GstPluginAPIFlags) 0);
}

gboolean
set_common_property (CommonSettings & settings, guint first_id, guint prop_id, const GValue * value,
    std::string * refusal)
{
  if (prop_id < first_id || prop_id >= first_id + kCommonProperties)
    return FALSE;
  switch (prop_id - first_id) {
    case COMMON_DEVICE:
      settings.device = (GstEfficientAdDevice) g_value_get_enum (value);
      break;
    case COMMON_MODE:
      settings.mode = (GstEfficientAdMode) g_value_get_enum (value);
      break;
    case COMMON_THREADS:
      settings.threads = g_value_get_uint (value);
      break;
    case COMMON_ROI:{
      GstVideoRectangle roi;
      const gchar *text = g_value_get_string (value);
      if (parse_roi (text, &roi)) {
        settings.roi_text = text ? text : "";
        settings.roi = roi;
        settings.roi_serial++;
        settings.refused_roi.clear ();
      } else {
        settings.refused_roi = text;
        *refusal = "The roi '" + settings.refused_roi + "' is not \"x,y,width,height\" with x, y >= 0 and width, "
            "height > 0 (pixels); keeping the roi '" + settings.roi_text + "'.";
      }
      break;
    }
  }
  return TRUE;
}

gboolean
get_common_property (const CommonSettings & settings, guint first_id, guint prop_id, GValue * value)
{
  if (prop_id < first_id || prop_id >= first_id + kCommonProperties)
    return FALSE;
  switch (prop_id - first_id) {
    case COMMON_DEVICE:
      g_value_set_enum (value, settings.device);
      break;
    case COMMON_MODE:
      g_value_set_enum (value, settings.mode);
      break;
    case COMMON_THREADS:
      g_value_set_uint (value, settings.threads);
      break;
    case COMMON_ROI:
      g_value_set_string (value, settings.roi_text.c_str ());
      break;
  }
  return TRUE;
}

void
warn_refused_setting (GstElement * element, const std::string & refusal)
{
  if (!refusal.empty ())
    GST_ELEMENT_WARNING (element, RESOURCE, SETTINGS, ("%s", refusal.c_str ()), (NULL));
}

gboolean
check_common_settings (GstElement * element, const CommonSettings & settings)
{
  if (settings.refused_roi.empty ())
    return TRUE;
  GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS, ("The roi '%s' is not \"x,y,width,height\" with x, y >= 0 and "
          "width, height > 0 (pixels); fix the roi property or leave it empty for whole frames.",
          settings.refused_roi.c_str ()), (NULL));
  return FALSE;
}

Device
engine_device (GstEfficientAdDevice device)
{
  switch (device) {
    case GST_EFFICIENTAD_DEVICE_CPU:
      return Device::Cpu;
    case GST_EFFICIENTAD_DEVICE_CUDA:
      return Device::Cuda;
    default:
      return Device::Auto;
  }
}

DetectorOptions
detector_options (const CommonSettings & settings)
{
  DetectorOptions options;
  options.device = engine_device (settings.device);
  options.mode = settings.mode == GST_EFFICIENTAD_MODE_EXACT ? Mode::Exact : Mode::Fast;
  options.threads = (int) settings.threads;
  return options;
}

void
apply_training_settings (const CommonSettings & settings, TrainOptions & options)
{
  options.device = engine_device (settings.device);
  options.precision = settings.mode == GST_EFFICIENTAD_MODE_EXACT ? Precision::Exact : Precision::Fast;
  options.threads = (int) settings.threads;
}

GstVideoRectangle
clip_roi_or_warn (GstElement * element, const GstVideoRectangle & roi, guint roi_serial, gint width, gint height,
    bool yuv, RoiWarning & warning, const gchar * fallback)
{
  bool outside;
  const GstVideoRectangle r = clip_region (roi, width, height, yuv, &outside);
  if (outside && warning.warned_serial != roi_serial) {
    warning.warned_serial = roi_serial;
    GST_ELEMENT_WARNING (element, STREAM, FORMAT, ("The roi %d,%d,%d,%d lies outside the %dx%d frames; %s.", roi.x,
            roi.y, roi.w, roi.h, width, height, fallback), (NULL));
  }
  return r;
}

}  // namespace efficientad::gst
