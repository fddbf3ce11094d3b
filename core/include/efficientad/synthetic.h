// A self-made demonstration dataset: machined washers on a conveyor belt, rendered procedurally, with injected
// defects and their masks. It exists so that the README's main job runs on a fresh machine without any download.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "efficientad/image.h"

namespace efficientad {

struct SyntheticOptions {
  int train_good = 60;
  int test_good = 20;
  int test_defective_per_kind = 8;
  int size = 256;  // square images, pixels
  uint64_t seed = 7;
};

// The defect kinds rendered into test/<kind>: local (scratch, crack, spot, chip) and logical (missing_hole).
std::vector<std::string> synthetic_defect_kinds();

// One picture of a part; `defect` is empty for a good part. `mask` (Gray8, 255 = defect) is filled when non-null.
Image render_synthetic_part(int size, uint64_t seed, const std::string& defect, Image* mask);

// Writes the dataset in MVTec AD layout under `folder`: train/good, test/good, test/<kind>,
// ground_truth/<kind>/<stem>_mask.png. Returns the number of images written. Throws IoError, InvalidArgument.
int write_synthetic_dataset(const std::string& folder, const SyntheticOptions& options);

}  // namespace efficientad
