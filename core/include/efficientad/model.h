// What a model file holds, readable without loading the networks (the `info` command, the GStreamer element).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "efficientad/options.h"

namespace efficientad {

// EfficientAD-S (paper Table 6) or EfficientAD-M (Table 7).
enum class Variant { Small, Medium };

const char* variant_name(Variant variant);            // "S" / "M"
Variant parse_variant(const std::string& text);        // "S", "small", "M", "medium"; throws InvalidArgument

// The shape of the networks. Inputs are resized to input_width x input_height before the networks see them;
// anomaly maps are returned at the caller's resolution.
struct ModelGeometry {
  Variant variant = Variant::Small;
  int input_width = 256;
  int input_height = 256;
  bool padding = false;  // PDN zero padding (paper Tables 6-7); off by default as in the paper's results (App. E)

  // Size of the teacher/student/autoencoder output maps for this geometry (56x56 for 256x256 without padding).
  int feature_width() const;
  int feature_height() const;
  // Cells of zeros added around the feature map so that it covers the whole input (4 without padding, 0 with).
  int map_border_cells() const;
};

// Smallest and largest accepted network input side, in pixels. The autoencoder's encoder needs 256.
constexpr int kMinInputSide = 256;
constexpr int kMaxInputSide = 2048;
// Throws InvalidArgument when the geometry cannot be built.
void validate_geometry(const ModelGeometry& geometry);
// The input size that keeps `aspect` (width / height) at about `pixels` pixels: sides are multiples of 8, the
// short side at least kMinInputSide (so a long part gets more pixels than asked: 400x256 for 1.56 at 256x256), the
// long side at most kMaxInputSide. Throws InvalidArgument for a non-positive aspect or budget.
void aspect_preserving_input(double aspect, int64_t pixels, int& width, int& height);

// The quantiles q_a = 0.9 and q_b = 0.995 of the local (student-teacher) and global (student-autoencoder)
// maps on held-out normal images (Algorithm 1, lines 44-57). They map q_a to 0 and q_b to 0.1.
struct MapQuantiles {
  float st_a = 0, st_b = 0, ae_a = 0, ae_b = 0;
};

// How a model was made.
struct Provenance {
  int64_t steps = 0;
  int64_t train_images = 0;
  int64_t validation_images = 0;
  int64_t penalty_images = 0;   // natural images used for the pretraining penalty
  bool penalty_dead_leaves = false;  // procedural dead-leaves images instead (none, with penalty_images 0: off)
  std::string teacher_origin;   // "random (seed N)" or "file <name> (id <16 hex digits>): <its origin>"
  bool teacher_random = true;
  std::string precision;        // training precision: "exact" (fp32) or "fast" (bf16 autocast)
  std::string schedule;         // learning-rate schedule; empty in models of builds before schedules (paper's)
  uint64_t seed = 0;
  std::string created;          // ISO 8601 UTC
  std::string library_version;
  double train_seconds = 0;
  double final_loss = 0;
};

// Image scores of the held-out normal images, which the default threshold is derived from.
struct ValidationScores {
  float mean = 0, stddev = 0, max = 0;
};

struct ModelInfo {
  uint32_t format_version = 0;
  std::string model_id;  // content hash of the model file, 16 hex digits
  ModelGeometry geometry;
  MapQuantiles quantiles;
  float threshold = 0;   // default image threshold of the exact maps: score > threshold means anomalous
  ValidationScores validation;
  // The same rule on the int8 maps (fast mode on a CPU) of the same held-out images: int8 scores normal images
  // higher than fp32 does, so the exact threshold would flag normal parts there. Absent from models of earlier
  // builds and where training had no int8 path; the exact threshold then serves every mode.
  std::optional<float> int8_threshold;
  ValidationScores int8_validation;
  // Whether the file calibrates fast mode's int8 decoder (models of earlier builds run the float autoencoder).
  bool int8_decoder = false;
  Provenance provenance;
};

// Reads and fully validates a model file (checksum, version, shapes, finiteness) without building networks.
// Throws ModelFileError with a message naming the file and the problem.
ModelInfo read_model_info(const std::string& path);

// A multi-line, human-readable description (the CLI's `info`).
std::string describe(const ModelInfo& info);
// What `efficientad info` prints for a model or a teacher file (variant and origin). Throws ModelFileError.
std::string describe_file(const std::string& path);

}  // namespace efficientad
