// Evaluation on a dataset in MVTec AD layout, the way the papers report: image AUROC / F1-max, pixel AUROC,
// AU-PRO at 30 % and 5 % FPR and its defect-size quartiles, per defect type and overall.
#pragma once

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "efficientad/detector.h"
#include "efficientad/metrics.h"

namespace efficientad {

struct DatasetImage {
  std::string path;
  std::string mask_path;  // empty for good images
  std::string defect_type;  // "good" or the defect's folder name
};

// train/good, test/good, test/<defect>/..., ground_truth/<defect>/<stem>_mask.png
struct MvtecDataset {
  std::string root;
  std::string train_folder;  // root/train/good
  std::vector<std::string> defect_types;  // sorted folder names under test/, without "good"
  std::vector<DatasetImage> test;
};

// Throws InvalidArgument naming what is missing: the folder, test/good, defect folders, or a defect image's mask.
MvtecDataset read_mvtec_dataset(const std::string& folder);

struct EvaluationRow {
  std::string name;  // a defect type, or "overall"
  int good_images = 0;
  int defect_images = 0;
  // The decision at the model's threshold, as a line operator lives with it: good images flagged (false alarms)
  // and defective images flagged (detected).
  int false_alarms = 0;
  int detected = 0;
  double image_auroc = 0;
  double image_f1_max = 0;
  SegmentationMetrics pixels;
};

struct ImageResult {
  std::string path;
  std::string defect_type;
  float score = 0;
  bool anomalous = false;  // the detector's decision at its threshold
};

struct EvaluationReport {
  std::string dataset;
  std::string model_id;
  std::string setup;  // variant, input size, mode, device, teacher origin
  float threshold = 0;
  std::vector<EvaluationRow> rows;  // one per defect type, then "overall"
  std::array<double, 4> size_quartiles{};  // region sizes in pixels at the masks' resolution
  int empty_masks = 0;  // defect images whose mask marks no pixel (their pixels count as normal)
  double ms_per_image = 0;  // detection only, at full mask resolution
  std::vector<ImageResult> images;

  std::string table() const;  // for people
  std::string json() const;   // for programs; NaN (undefined) is null
};

struct EvaluationOptions {
  // When set, writes one PNG per test image there: input | ground truth | anomaly map over the input.
  std::string heatmap_folder;
  std::function<void(size_t done, size_t total)> progress;
};

// Scores every test image with its map at full resolution (the mask's size). Throws ImageError for unreadable
// images and InvalidArgument when a mask's size differs from its image's.
EvaluationReport evaluate(Detector& detector, const MvtecDataset& dataset, const EvaluationOptions& options = {});

}  // namespace efficientad
