/* One published result (anomalypublish): what a line of the JSON-lines log and an MQTT message hold, free of
 * GStreamer so that its encoding has its own tests. */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace efficientad::gst {

struct RegionRecord {
  int x = 0, y = 0, width = 0, height = 0;  // frame pixels
  uint64_t area = 0;
  float peak = 0, mean = 0;
};

struct ResultRecord {
  std::string source;                 // the camera or station, as configured
  std::string event = "frame";        // "frame", or an alarm edge: "begin", "end"
  uint64_t stream_time_ns = UINT64_MAX;  // running time of the frame; UINT64_MAX: unknown
  int64_t wall_time_ms = 0;           // Unix time of publishing, ms
  uint64_t frame = 0;
  float score = 0, threshold = 0;
  bool anomalous = false, alarm = false;
  std::string model_id;
  std::vector<RegionRecord> regions;  // largest first
  std::string crop_png;               // PNG of the largest region, empty for none
};

/* One line of JSON, without the newline: {"source": ..., "event": ..., "stream_time_ns": ... or null,
 * "wall_time": "2026-12-02T04:05:06.789Z", "frame": ..., "score": ..., "threshold": ..., "anomalous": ...,
 * "alarm": ..., "model_id": ..., "regions": [{"x", "y", "width", "height", "area", "peak", "mean"}, ...],
 * "crop_png_base64": ... (only with a crop)}. Non-finite numbers are written as null. */
std::string to_json (const ResultRecord & record);

/* A JSON string literal with quotes; control characters, quotes and backslashes escaped, invalid UTF-8 as U+FFFD. */
std::string json_string (const std::string & text);
std::string base64 (const std::string & bytes);
std::string iso8601_utc (int64_t unix_ms);

}  // namespace efficientad::gst
