// Text and JSON forms of an evaluation report.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "efficientad/evaluation.h"

namespace efficientad {

namespace {

std::string fixed(double value, int digits = 3) {
  if (std::isnan(value)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

// "3/28": how many of how many images the threshold flagged.
std::string count_of(int flagged, int images) { return std::to_string(flagged) + "/" + std::to_string(images); }

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_quartiles(const std::array<double, 4>& q) {
  return "[" + json_number(q[0]) + ", " + json_number(q[1]) + ", " + json_number(q[2]) + ", " + json_number(q[3]) + "]";
}

}  // namespace

std::string EvaluationReport::table() const {
  std::ostringstream out;
  out << "dataset " << dataset << "\nmodel " << model_id << ": " << setup << "\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-14s %5s %5s  %9s %9s  %7s %7s  %7s %7s %7s  %7s %7s %7s %7s  %7s\n", "", "good",
                "bad", "alarms", "found", "I-AUROC", "I-F1max", "P-AUROC", "PRO@30", "PRO@5", "Q1@30", "Q2@30", "Q3@30",
                "Q1@5", "rho@30");
  out << line;
  for (const EvaluationRow& r : rows) {
    const SegmentationMetrics& p = r.pixels;
    std::snprintf(line, sizeof line, "%-14s %5d %5d  %9s %9s  %7s %7s  %7s %7s %7s  %7s %7s %7s %7s  %7s\n",
                  r.name.c_str(), r.good_images, r.defect_images, count_of(r.false_alarms, r.good_images).c_str(),
                  count_of(r.detected, r.defect_images).c_str(), fixed(r.image_auroc).c_str(), fixed(r.image_f1_max).c_str(),
                  fixed(p.pixel_auroc).c_str(), fixed(p.aupro30).c_str(), fixed(p.aupro5).c_str(),
                  fixed(p.aupro30_quartile[0]).c_str(), fixed(p.aupro30_quartile[1]).c_str(),
                  fixed(p.aupro30_quartile[2]).c_str(), fixed(p.aupro5_quartile[0]).c_str(), fixed(p.robustness30).c_str());
    out << line;
  }
  out << "\nQk: AU-PRO over the defect regions no larger than the k-th size quartile (" << fixed(size_quartiles[0], 0)
      << ", " << fixed(size_quartiles[1], 0) << ", " << fixed(size_quartiles[2], 0) << ", " << fixed(size_quartiles[3], 0)
      << " pixels); Q4 = all = PRO. rho: robustness to defect size.\nalarms: good images flagged at the threshold "
         "(false alarms); found: defective images flagged.\n";
  if (empty_masks > 0) out << "note: " << empty_masks << " defect images have an empty mask; their pixels count as normal\n";
  out << "detection " << fixed(ms_per_image, 1) << " ms per image (maps at full resolution), threshold "
      << fixed(threshold, 4) << "\n";
  return out.str();
}

std::string EvaluationReport::json() const {
  std::ostringstream out;
  out << "{\n  \"dataset\": " << json_string(dataset) << ",\n  \"model_id\": " << json_string(model_id)
      << ",\n  \"setup\": " << json_string(setup) << ",\n  \"threshold\": " << json_number(threshold)
      << ",\n  \"ms_per_image\": " << json_number(ms_per_image) << ",\n  \"empty_masks\": " << empty_masks
      << ",\n  \"size_quartiles\": " << json_quartiles(size_quartiles) << ",\n  \"rows\": [";
  for (size_t i = 0; i < rows.size(); ++i) {
    const EvaluationRow& r = rows[i];
    const SegmentationMetrics& p = r.pixels;
    out << (i ? "," : "") << "\n    {\"name\": " << json_string(r.name) << ", \"good_images\": " << r.good_images
        << ", \"defect_images\": " << r.defect_images << ", \"false_alarms\": " << r.false_alarms
        << ", \"detected\": " << r.detected << ", \"image_auroc\": " << json_number(r.image_auroc)
        << ", \"image_f1_max\": " << json_number(r.image_f1_max) << ", \"pixel_auroc\": " << json_number(p.pixel_auroc)
        << ", \"aupro30\": " << json_number(p.aupro30) << ", \"aupro5\": " << json_number(p.aupro5)
        << ", \"aupro30_quartiles\": " << json_quartiles(p.aupro30_quartile)
        << ", \"aupro5_quartiles\": " << json_quartiles(p.aupro5_quartile)
        << ", \"robustness30\": " << json_number(p.robustness30) << ", \"robustness5\": " << json_number(p.robustness5)
        << ", \"regions\": " << p.regions << ", \"normal_pixels\": " << p.normal_pixels
        << ", \"defect_pixels\": " << p.defect_pixels << "}";
  }
  out << "\n  ],\n  \"images\": [";
  for (size_t i = 0; i < images.size(); ++i) {
    const ImageResult& im = images[i];
    out << (i ? "," : "") << "\n    {\"path\": " << json_string(im.path) << ", \"defect_type\": " << json_string(im.defect_type)
        << ", \"score\": " << json_number(im.score) << ", \"anomalous\": " << (im.anomalous ? "true" : "false") << "}";
  }
  out << "\n  ]\n}\n";
  return out.str();
}

}  // namespace efficientad
