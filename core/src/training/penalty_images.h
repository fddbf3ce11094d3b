// Natural images for the pretraining penalty (Algorithm 1, line 21 and paper A.1).
#pragma once

#include <ATen/ATen.h>

#include <random>
#include <string>
#include <vector>

#include "efficientad/trainer.h"

namespace efficientad::detail {

// Resized to twice the input size, grey with probability 0.3, centre crop. Read lazily, one per step, so that a
// folder of any size costs no start-up time; an unreadable file is skipped with a warning.
class PenaltyImages {
 public:
  // An empty folder name disables the penalty. Throws InvalidArgument when the folder holds no image.
  PenaltyImages(const std::string& folder, int width, int height, const WarningCallback& warn);
  bool enabled() const { return !files_.empty(); }
  size_t count() const { return files_.size(); }

  // [1, 3, H, W] in [0, 1]. Throws InvalidArgument when none of the images can be read.
  at::Tensor draw(std::mt19937_64& rng);

 private:
  int width_, height_;
  WarningCallback warn_;
  std::vector<std::string> files_;
};

}  // namespace efficientad::detail
