#include "distillation/backbone.h"

#include <torch/script.h>

#include <algorithm>

#include "efficientad/errors.h"
#include "model/networks.h"
#include "distillation/tfjs_model.h"

namespace efficientad::detail {

namespace {

constexpr int64_t kTargetChannels = 384;
constexpr int kMaxScale = 4;  // 1024 x 1024 backbone inputs; beyond that the feature cache outgrows a workstation

// Bilinear samples of `features` (cells at input pixel first_centre + stride * k of a `backbone_side` image) at
// the centres of the teacher's output cells on the same image at `teacher_side`. Cell i of the teacher covers
// pixels 4i .. 4i + 32, so its centre is 4i + 16.5 in continuous coordinates (pixel p spans [p, p + 1)).
at::Tensor sample_at_teacher_cells(const at::Tensor& features, const CellGeometry& g, int backbone_side,
                                   int teacher_side) {
  const int64_t cells = (teacher_side - kPdnReceptiveField) / kPdnStride + 1;
  const double scale = double(backbone_side) / teacher_side;
  auto axis = [&](int64_t size) {
    at::Tensor centre = at::arange(cells, at::kDouble) * kPdnStride + (kPdnReceptiveField / 2 + 0.5);
    const at::Tensor index = (centre * scale - 0.5 - g.first_centre) / g.stride;  // in backbone cells
    return (index * (2.0 / double(std::max<int64_t>(size - 1, 1))) - 1.0).to(at::kFloat);  // align_corners
  };
  const at::Tensor ys = axis(features.size(2)), xs = axis(features.size(3));
  const at::Tensor grid = at::stack({xs.view({1, -1}).expand({cells, cells}), ys.view({-1, 1}).expand({cells, cells})}, 2)
                              .unsqueeze(0)
                              .expand({features.size(0), cells, cells, 2});
  return at::grid_sampler(features.contiguous(), grid.contiguous(), /*bilinear*/ 0, /*border*/ 1, true);
}

// Averages neighbouring channels down to `channels` (PatchCore's projection by adaptive average pooling).
at::Tensor reduce_channels(const at::Tensor& x, int64_t channels) {
  if (x.size(1) == channels) return x;
  const auto n = x.size(0), h = x.size(2), w = x.size(3);
  const at::Tensor rows = x.permute({0, 2, 3, 1}).reshape({-1, 1, x.size(1)});
  return at::adaptive_avg_pool1d(rows, {channels}).reshape({n, h, w, channels}).permute({0, 3, 1, 2}).contiguous();
}

at::Tensor local_average(const at::Tensor& x) {  // PatchCore's 3x3 neighbourhood aggregation
  return at::avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, false, /*count_include_pad=*/false);
}

const std::vector<std::string> kFirstTeacherLayers = {"mixed2", "mixed5"};

class NsfwjsInception : public Backbone {
 public:
  NsfwjsInception(const std::string& folder, const BackboneChoice& choice)
      : Backbone(choice.scale),
        folder_(folder),
        layers_(choice.layers.empty() ? kFirstTeacherLayers : choice.layers),
        model_(TfjsLayersModel::load(folder, "mixed5")) {
    if (model_.channels("mixed2") != 288 || model_.channels("mixed5") != 768) {
      throw ModelFileError("TF.js model in " + folder + " is not nsfwjs's InceptionV3 (mixed2/mixed5 channels differ)");
    }
    if (kTargetChannels % int64_t(layers_.size()) != 0) {
      throw InvalidArgument("the 384 target channels must split evenly between the layers: give 1, 2, 3, 4 or 6 "
                            "layers, not " + std::to_string(layers_.size()));
    }
    for (const std::string& layer : layers_) {
      if (std::count(layers_.begin(), layers_.end(), layer) > 1) throw InvalidArgument("layer " + layer + " is given twice");
      if (!model_.has_layer(layer)) {
        throw InvalidArgument("InceptionV3 has no layer '" + layer + "' up to mixed5 (e.g. mixed0 .. mixed5, "
                              "max_pooling2d_2 after the stem, activation_N after conv2d_N)");
      }
      if (model_.channels(layer) < share()) {
        throw InvalidArgument("layer " + layer + " has " + std::to_string(model_.channels(layer)) +
                              " channels, fewer than its share of the 384 targets (" + std::to_string(share()) +
                              "): add layers or choose a wider one");
      }
    }
  }

  at::Tensor targets(const at::Tensor& unit_rgb) const override {
    at::NoGradGuard no_grad;
    // Keras InceptionV3 preprocessing ('tf' mode), which its frozen ImageNet layers expect: RGB in [-1, 1].
    const std::vector<at::Tensor> maps = model_.forward(unit_rgb * 2.0f - 1.0f, layers_);
    std::vector<at::Tensor> parts;
    for (size_t i = 0; i < maps.size(); ++i) {
      const CellGeometry g = model_.geometry(layers_[i]);
      const at::Tensor sampled = sample_at_teacher_cells(local_average(maps[i]), g, input_side(), teacher_side());
      parts.push_back(reduce_channels(sampled, share()));
    }
    return at::cat(parts, 1);
  }
  std::string description() const override {
    std::string names, shares;
    for (const std::string& layer : layers_) {
      names += (names.empty() ? "" : "+") + layer;
      shares += (shares.empty() ? "" : "+") + std::to_string(share());
    }
    // The first teacher's wording (512 px unsaid), so that its checkpoints still resume.
    const std::string side = input_side() == 512 ? "" : " at " + std::to_string(input_side()) + " px";
    return "nsfwjs@4.4.0 InceptionV3 (ImageNet) " + names + side + ", 3x3 average, " + shares + " channels, from " +
           folder_;
  }

 private:
  int64_t share() const { return kTargetChannels / int64_t(layers_.size()); }

  std::string folder_;
  std::vector<std::string> layers_;
  TfjsLayersModel model_;
};

class TorchScriptBackbone : public Backbone {
 public:
  TorchScriptBackbone(const std::string& file, int scale) : Backbone(scale), file_(file) {
    try {
      module_ = torch::jit::load(file, at::kCPU);
    } catch (const c10::Error& e) {
      throw ModelFileError(file + ": not a TorchScript module that LibTorch can load (save it with "
                           "torch.jit.script(m).save(path) or torch.jit.trace): " + e.msg().substr(0, 200));
    }
    module_.eval();
  }

  at::Tensor targets(const at::Tensor& unit_rgb) const override {
    at::NoGradGuard no_grad;
    at::Tensor features;
    try {
      features = const_cast<torch::jit::Module&>(module_).forward({imagenet_normalize(unit_rgb)}).toTensor();
    } catch (const c10::Error& e) {
      const std::string side = std::to_string(input_side());
      throw ModelFileError(file_ + ": the backbone failed on a [N, 3, " + side + ", " + side + "] image: " +
                           e.msg().substr(0, 300));
    }
    if (features.dim() != 4 || features.size(0) != unit_rgb.size(0) || features.size(2) < 2 || features.size(3) < 2) {
      throw ModelFileError(file_ + ": the backbone must return one [N, C, h, w] feature map (h, w >= 2)");
    }
    features = features.to(at::kFloat);
    // Cells tile the input: cell k covers pixels stride * k .. stride * (k + 1) - 1.
    const double stride = double(input_side()) / double(features.size(3));
    const CellGeometry g{stride, stride / 2 - 0.5};
    return reduce_channels(sample_at_teacher_cells(features, g, input_side(), teacher_side()), kTargetChannels);
  }
  std::string description() const override {
    return "TorchScript backbone " + file_ + (input_side() == 512 ? "" : " at " + std::to_string(input_side()) + " px");
  }

 private:
  std::string file_;
  torch::jit::Module module_;
};

}  // namespace

std::unique_ptr<Backbone> open_backbone(const std::string& spec, const BackboneChoice& choice) {
  const size_t colon = spec.find(':');
  const std::string kind = spec.substr(0, colon), path = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (path.empty() || (kind != "nsfwjs" && kind != "torchscript")) {
    throw InvalidArgument("backbone '" + spec + "': give nsfwjs:FOLDER (nsfwjs@4.4.0's dist/models/inception_v3, "
                          "see models/fetch-nsfwjs.sh) or torchscript:FILE");
  }
  if (choice.scale < 1 || choice.scale > kMaxScale) {
    throw InvalidArgument("backbone scale must be 1 to " + std::to_string(kMaxScale) + " (backbone pixels per teacher "
                          "pixel; Algorithm 3: 2), not " + std::to_string(choice.scale));
  }
  if (kind == "nsfwjs") return std::make_unique<NsfwjsInception>(path, choice);
  if (!choice.layers.empty()) {
    throw InvalidArgument("layers are chosen for nsfwjs backbones only; a TorchScript backbone returns its own features");
  }
  return std::make_unique<TorchScriptBackbone>(path, choice.scale);
}

}  // namespace efficientad::detail
