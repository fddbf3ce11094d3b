// Natural images for the pretraining penalty (Algorithm 1, line 21 and paper A.1).
#pragma once

#include <ATen/ATen.h>

#include <random>
#include <string>
#include <vector>

#include "efficientad/trainer.h"

namespace efficientad::detail {

// A folder's images resized to twice the input size and centre-cropped (paper A.1), or procedural dead-leaves
// images at the input size; grey with probability 0.3. Made one per step, so that a folder of any size costs no
// start-up time; an unreadable file is skipped with a warning.
class PenaltyImages {
 public:
  // A folder wins; without one, `penalty` chooses procedural images or none. Throws InvalidArgument when the
  // folder holds no image.
  PenaltyImages(const std::string& folder, Penalty penalty, int width, int height, const WarningCallback& warn);
  bool enabled() const { return dead_leaves_ || !files_.empty(); }
  bool dead_leaves() const { return dead_leaves_; }
  size_t count() const { return files_.size(); }  // images in the folder

  // [1, 3, H, W] in [0, 1]. Throws InvalidArgument when none of the images can be read.
  at::Tensor draw(std::mt19937_64& rng);

 private:
  at::Tensor draw_file(std::mt19937_64& rng);

  bool dead_leaves_;
  int width_, height_;
  WarningCallback warn_;
  std::vector<std::string> files_;
};

}  // namespace efficientad::detail
