/* Defect regions of an analysed frame in the frame's pixels, and their forms on a buffer: inside GstAnomalyMeta
 * and as one standard GstVideoRegionOfInterestMeta per region (roi type "anomaly"), which any element or
 * application that reads ROI meta understands. */
#pragma once

#include <gst/video/video.h>

#include <string>
#include <vector>

#include "efficientad/detection.h"
#include "meta/gstanomalymeta.h"

namespace efficientad::gst {

/* The regions of `detection`'s map (which covers `analysed`, a rectangle of the frame) above `threshold`, with
 * at least min_area frame pixels, the largest max_regions of them, largest first. */
std::vector<GstAnomalyRegion> frame_regions (const Detection & detection, const GstVideoRectangle & analysed,
    gfloat threshold, guint min_area, guint max_regions);

/* One GstVideoRegionOfInterestMeta per region: type "anomaly", id = its index (0 the largest), with an "anomaly"
 * parameter structure holding area, peak, mean, score and model-id. */
void add_region_of_interest_metas (GstBuffer * buffer, const std::vector<GstAnomalyRegion> & regions, gfloat score,
    const std::string & model_id);

/* "region, x=..., y=..., width=..., height=..., area=..., peak=..., mean=..." for bus messages. */
GstStructure *region_structure (const GstAnomalyRegion & region);

}  // namespace efficientad::gst
