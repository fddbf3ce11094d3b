// Keras models saved for TF.js in the "layers" format, run with ATen: a folder with either model.json + binary
// weight shards (tensorflowjs_converter output) or model.min.js + *.min.js shards (the bundles npm packages such
// as nsfwjs ship, weights base64-encoded). Used as frozen feature extractors for teacher distillation, so only
// the layers of convolutional backbones are supported: Conv2D, BatchNormalization, Activation (relu/linear),
// Max/AveragePooling2D, Concatenate, InputLayer. Executing the stored (topologically sorted) layer list through
// `inbound_nodes` reproduces TF.js.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <vector>

namespace efficientad::detail {

// Where the cells of a layer's output sit in the input image: cell k is centred on input pixel
// first_centre + stride * k (0-based pixel indices, along both axes).
struct CellGeometry {
  double stride = 1, first_centre = 0;
};

class TfjsLayersModel {
 public:
  // Loads the layers up to and including `last_layer` and their weights (uint8/uint16-quantised or float32).
  // Throws ModelFileError naming the folder and the problem (missing or truncated shard, bad base64, unknown
  // layer type, weight of the wrong shape, ...).
  static TfjsLayersModel load(const std::string& folder, const std::string& last_layer);

  // x: [N, 3, H, W] float, preprocessed as the model expects. Returns the named layers' outputs, NCHW.
  std::vector<at::Tensor> forward(const at::Tensor& x, const std::vector<std::string>& outputs) const;
  CellGeometry geometry(const std::string& layer) const;
  int64_t channels(const std::string& layer) const;
  bool has_layer(const std::string& layer) const { return index_.count(layer) > 0; }
  size_t layer_count() const { return layers_.size(); }

  struct Layer {
    std::string name, type;
    std::vector<std::string> inputs;
    std::vector<int64_t> kernel{1, 1}, strides{1, 1};
    bool same_padding = false, relu = false;
    at::Tensor weight, bias;  // Conv2D: OIHW weight; BatchNormalization: folded scale (weight) and shift (bias)
    CellGeometry cells;
    int64_t channels = 0;
  };

 private:
  std::string folder_;
  std::vector<Layer> layers_;
  std::map<std::string, size_t> index_;
};

// Standard base64 (with '=' padding, whitespace ignored). Throws std::runtime_error on other characters.
std::vector<uint8_t> decode_base64(const std::string& text);

}  // namespace efficientad::detail
