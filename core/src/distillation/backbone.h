// The frozen pretrained feature extractors of teacher distillation (paper Algorithm 3, Psi), reduced to what
// distillation needs: for an image, 384 target features at the centre of each output cell of an unpadded PDN
// teacher applied to the same image at 256 x 256.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

namespace efficientad::detail {

// Which features become the targets. `layers` (nsfwjs only; empty: mixed2 and mixed5, the first teacher's)
// share the 384 target channels evenly; the backbone sees each image at `scale` x the teacher's 256 x 256.
struct BackboneChoice {
  std::vector<std::string> layers;
  int scale = 2;  // Algorithm 3: 512 x 512 for the backbone, 256 x 256 for the teacher
};

class Backbone {
 public:
  virtual ~Backbone() = default;
  // unit_rgb: [N, 3, S, S] RGB in [0, 1] at input_side(). Returns [N, 384, cells, cells], float32, where cell
  // (i, j) is sampled at the centre of the teacher's output cell (i, j) on the same image at teacher_side().
  virtual at::Tensor targets(const at::Tensor& unit_rgb) const = 0;
  virtual std::string description() const = 0;
  int input_side() const { return teacher_side() * scale_; }
  int teacher_side() const { return 256; }

 protected:
  explicit Backbone(int scale) : scale_(scale) {}

 private:
  int scale_;
};

// "nsfwjs:FOLDER": the ImageNet InceptionV3 of npm nsfwjs@4.4.0 (FOLDER = dist/models/inception_v3), the chosen
// layers (any up to mixed5) aggregated the way PatchCore aggregates WideResNet layer2/layer3.
// "torchscript:FILE": a TorchScript module mapping ImageNet-normalised [N, 3, S, S] images (S = 256 x scale) to
// [N, C, h, w] whose cells tile the input (e.g. a WideResNet-101 with PatchCore's aggregation, C = 384,
// h = w = S / 8); other C are averaged down to 384 channels.
// Throws InvalidArgument for an unknown kind or choice, ModelFileError for files that cannot be used.
std::unique_ptr<Backbone> open_backbone(const std::string& spec, const BackboneChoice& choice = {});

// Centres of an unpadded PDN's output cells: receptive field 33 px, stride 4 (Tables 6-7), so cell i covers
// input pixels 4i .. 4i + 32.
constexpr int kPdnStride = 4;
constexpr int kPdnReceptiveField = 33;

}  // namespace efficientad::detail
