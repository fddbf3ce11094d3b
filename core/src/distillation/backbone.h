// The frozen pretrained feature extractors of teacher distillation (paper Algorithm 3, Psi), reduced to what
// distillation needs: for an image, 384 target features at the centre of each output cell of an unpadded PDN
// teacher applied to the same image at 256 x 256.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>

namespace efficientad::detail {

class Backbone {
 public:
  virtual ~Backbone() = default;
  // unit_rgb: [N, 3, S, S] RGB in [0, 1] at input_side(). Returns [N, 384, cells, cells], float32, where cell
  // (i, j) is sampled at the centre of the teacher's output cell (i, j) on the same image at teacher_side().
  virtual at::Tensor targets(const at::Tensor& unit_rgb) const = 0;
  virtual int input_side() const = 0;
  virtual std::string description() const = 0;
  int teacher_side() const { return 256; }
};

// "nsfwjs:FOLDER": the ImageNet InceptionV3 of npm nsfwjs@4.4.0 (FOLDER = dist/models/inception_v3), layers
// mixed2 and mixed5 aggregated the way PatchCore aggregates WideResNet layer2/layer3.
// "torchscript:FILE": a TorchScript module mapping ImageNet-normalised [N, 3, 512, 512] images to [N, C, h, w]
// whose cells tile the input (e.g. a WideResNet-101 with PatchCore's aggregation, C = 384, h = w = 64); other C
// are averaged down to 384 channels.
// Throws InvalidArgument for an unknown kind, ModelFileError for files that cannot be used.
std::unique_ptr<Backbone> open_backbone(const std::string& spec);

// Centres of an unpadded PDN's output cells: receptive field 33 px, stride 4 (Tables 6-7), so cell i covers
// input pixels 4i .. 4i + 32.
constexpr int kPdnStride = 4;
constexpr int kPdnReceptiveField = 33;

}  // namespace efficientad::detail
