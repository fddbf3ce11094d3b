#include "defectregions.h"

#include <algorithm>
#include <cmath>

#include "efficientad/regions.h"

namespace efficientad::gst {

std::vector<GstAnomalyRegion>
frame_regions (const Detection & detection, const GstVideoRectangle & analysed, gfloat threshold, guint min_area,
    guint max_regions)
{
  const AnomalyMap &map = detection.map;
  if (max_regions == 0 || map.values.empty () || analysed.w <= 0 || analysed.h <= 0)
    return {};
  /* One map cell covers sx x sy frame pixels. */
  const double sx = double (analysed.w) / map.width, sy = double (analysed.h) / map.height;
  const int64_t min_cells = std::max<int64_t> (1, int64_t (std::ceil (double (min_area) / (sx * sy))));
  std::vector<GstAnomalyRegion> out;
  for (const DefectRegion & r : find_defect_regions (map, threshold, min_cells, int (std::min<guint> (max_regions,
                  G_MAXINT)))) {
    const int x0 = int (std::floor (r.x * sx)), y0 = int (std::floor (r.y * sy));
    const int x1 = std::min (analysed.w, int (std::ceil ((r.x + r.width) * sx)));
    const int y1 = std::min (analysed.h, int (std::ceil ((r.y + r.height) * sy)));
    GstAnomalyRegion region;
    region.box = GstVideoRectangle {analysed.x + x0, analysed.y + y0, x1 - x0, y1 - y0};
    region.area = guint64 (std::llround (double (r.area) * sx * sy));
    region.peak = r.peak;
    region.mean = r.mean;
    out.push_back (region);
  }
  return out;
}

void
add_region_of_interest_metas (GstBuffer * buffer, const std::vector<GstAnomalyRegion> & regions, gfloat score,
    const std::string & model_id)
{
  for (size_t i = 0; i < regions.size (); ++i) {
    const GstAnomalyRegion &r = regions[i];
    GstVideoRegionOfInterestMeta *roi = gst_buffer_add_video_region_of_interest_meta (buffer, "anomaly",
        guint (r.box.x), guint (r.box.y), guint (r.box.w), guint (r.box.h));
    roi->id = gint (i);
    gst_video_region_of_interest_meta_add_param (roi, gst_structure_new ("anomaly",
            "area", G_TYPE_UINT64, r.area, "peak", G_TYPE_FLOAT, r.peak, "mean", G_TYPE_FLOAT, r.mean,
            "score", G_TYPE_FLOAT, score, "model-id", G_TYPE_STRING, model_id.c_str (), NULL));
  }
}

GstStructure *
region_structure (const GstAnomalyRegion & r)
{
  return gst_structure_new ("region", "x", G_TYPE_INT, r.box.x, "y", G_TYPE_INT, r.box.y, "width", G_TYPE_INT,
      r.box.w, "height", G_TYPE_INT, r.box.h, "area", G_TYPE_UINT64, r.area, "peak", G_TYPE_FLOAT, r.peak,
      "mean", G_TYPE_FLOAT, r.mean, NULL);
}

}  // namespace efficientad::gst
