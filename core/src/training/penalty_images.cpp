#include "training/penalty_images.h"

#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "image/image_ops.h"
#include "image/image_tensors.h"
#include "training/dead_leaves.h"
#include "training/train_step.h"

namespace efficientad::detail {

PenaltyImages::PenaltyImages(const std::string& folder, Penalty penalty, int width, int height,
                             const WarningCallback& warn)
    : dead_leaves_(penalty == Penalty::DeadLeaves && folder.empty()), width_(width), height_(height), warn_(warn) {
  if (folder.empty()) return;
  files_ = list_image_files(folder);
  if (files_.empty()) throw InvalidArgument("no images in the penalty image folder " + folder);
}

at::Tensor PenaltyImages::draw(std::mt19937_64& rng) {
  at::Tensor x = dead_leaves_ ? unit_tensor(render_dead_leaves(width_, height_, rng)) : draw_file(rng);
  if (std::bernoulli_distribution(0.3)(rng)) x = to_grayscale(x).contiguous();
  return x;
}

at::Tensor PenaltyImages::draw_file(std::mt19937_64& rng) {
  while (!files_.empty()) {
    const size_t index = std::uniform_int_distribution<size_t>(0, files_.size() - 1)(rng);
    try {
      const Image large = to_network_input(load_image(files_[index]).view(), 2 * width_, 2 * height_);
      const ImageView centre = large.view().crop(width_ / 2, height_ / 2, width_, height_);
      return unit_tensor(to_network_input(centre, width_, height_));
    } catch (const ImageError& e) {  // one bad file must not end hours of training
      if (warn_) warn_(std::string("skipping unreadable penalty image: ") + e.what());
      files_.erase(files_.begin() + long(index));
    }
  }
  throw InvalidArgument("none of the penalty images could be read");
}

}  // namespace efficientad::detail
