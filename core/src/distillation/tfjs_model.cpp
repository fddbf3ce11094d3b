#include "distillation/tfjs_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "common/file_read.h"
#include "efficientad/errors.h"
#include "efficientad/limits.h"
#include "distillation/js_literal.h"

namespace efficientad::detail {

namespace fs = std::filesystem;

namespace {

// A whole number in [min, max] from the model description: a file could hold 1e300 or -5 where a size belongs.
int64_t whole_number(const JsValue& v, int64_t min, int64_t max, const std::string& what) {
  const double x = v.num();
  if (!(x >= double(min) && x <= double(max)) || x != double(int64_t(x))) {
    throw std::runtime_error(what + " must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return int64_t(x);
}

// Sizes of one layer: kernels, strides, channels.
constexpr int64_t kMaxLayerSize = 1 << 16;

std::string read_text(const fs::path& path) {
  const std::vector<uint8_t> bytes = read_untrusted_file<ModelFileError>(path.string(), kMaxImportFileBytes, "file");
  return std::string(bytes.begin(), bytes.end());
}

// model.json is plain JSON; model.min.js wraps the same object in a bundle.
JsValue read_model_description(const fs::path& folder) {
  if (fs::exists(folder / "model.json")) {
    const std::string text = read_text(folder / "model.json");
    size_t pos = 0;
    return parse_js_literal(text, pos);
  }
  if (fs::exists(folder / "model.min.js")) return module_exports_literal(read_text(folder / "model.min.js"));
  throw std::runtime_error("neither model.json nor model.min.js is in the folder");
}

// A shard is the binary file named in the manifest or, in npm bundles, <name>.min.js holding base64.
std::vector<uint8_t> read_shard(const fs::path& folder, const std::string& name) {
  if (fs::exists(folder / name)) {
    const std::string bytes = read_text(folder / name);
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
  }
  for (const char* suffix : {".min.js", ".js"}) {
    const fs::path bundled = folder / (name + suffix);
    if (fs::exists(bundled)) return decode_base64(module_exports_literal(read_text(bundled)).str());
  }
  throw std::runtime_error("weight shard '" + name + "' is missing (looked for " + name + " and " + name + ".min.js)");
}

// Every weight of the manifest, decoded to float32 in its Keras shape.
std::map<std::string, at::Tensor> read_weights(const fs::path& folder, const JsValue& manifest) {
  std::map<std::string, at::Tensor> weights;
  for (const JsValue& group : manifest.list()) {
    std::vector<uint8_t> blob;
    for (const JsValue& path : group.at("paths").list()) {
      const std::vector<uint8_t> shard = read_shard(folder, path.str());
      blob.insert(blob.end(), shard.begin(), shard.end());
    }
    size_t offset = 0;
    for (const JsValue& entry : group.at("weights").list()) {
      const std::string& name = entry.at("name").str();
      std::vector<int64_t> shape;
      int64_t count = 1;
      for (const JsValue& d : entry.at("shape").list()) {
        shape.push_back(whole_number(d, 0, int64_t(kMaxTensorElements), "a dimension of weight " + name));
        count = shape.back() == 0 ? 0 : std::min<int64_t>(count * shape.back(), int64_t(kMaxTensorElements) + 1);
      }
      if (count > int64_t(kMaxTensorElements)) throw std::runtime_error("weight " + name + " is too large");
      if (entry.at("dtype").str() != "float32") throw std::runtime_error("weight " + name + " is not float32");
      const JsValue* quantization = entry.find("quantization");
      const std::string stored = quantization ? quantization->at("dtype").str() : "float32";
      const size_t bytes_per_value = stored == "uint8" ? 1 : stored == "uint16" ? 2 : stored == "float32" ? 4 : 0;
      if (bytes_per_value == 0) throw std::runtime_error("weight " + name + ": unsupported quantization " + stored);
      const size_t bytes = size_t(count) * bytes_per_value;
      if (offset + bytes > blob.size()) {
        throw std::runtime_error("weight shards are truncated: " + name + " needs bytes up to " +
                                 std::to_string(offset + bytes) + ", the shards hold " + std::to_string(blob.size()));
      }
      at::Tensor t = at::empty(shape, at::kFloat);
      float* out = t.data_ptr<float>();
      const uint8_t* in = blob.data() + offset;
      if (stored == "float32") {
        if (bytes > 0) std::memcpy(out, in, bytes);
      } else {  // value = q * scale + min, computed in double as TF.js does
        const double scale = quantization->at("scale").num(), min = quantization->at("min").num();
        for (int64_t i = 0; i < count; ++i) {
          const unsigned q = bytes_per_value == 1 ? in[i] : unsigned(in[2 * i] | (in[2 * i + 1] << 8));
          out[i] = float(q * scale + min);
        }
      }
      weights[name] = t;
      offset += bytes;
    }
    if (offset != blob.size()) {
      throw std::runtime_error("weight shards hold " + std::to_string(blob.size()) + " bytes but the manifest describes " +
                               std::to_string(offset));
    }
  }
  return weights;
}

std::vector<int64_t> pair_of(const JsValue& v) {
  if (v.kind == JsValue::Kind::Number) {
    const int64_t n = whole_number(v, 1, kMaxLayerSize, "a kernel size or stride");
    return {n, n};
  }
  const auto& l = v.list();
  if (l.size() != 2) throw std::runtime_error("expected two values");
  return {whole_number(l[0], 1, kMaxLayerSize, "a kernel size or stride"),
          whole_number(l[1], 1, kMaxLayerSize, "a kernel size or stride")};
}

bool is_channel_axis(const JsValue& axis) {
  const JsValue& a = axis.kind == JsValue::Kind::Array && axis.list().size() == 1 ? axis.list()[0] : axis;
  return a.kind == JsValue::Kind::Number && (a.num() == -1 || a.num() == 3);
}

const at::Tensor& weight(const std::map<std::string, at::Tensor>& weights, const std::string& name,
                         const std::vector<int64_t>& shape) {
  const auto it = weights.find(name);
  if (it == weights.end()) throw std::runtime_error("weight " + name + " is not in the manifest");
  if (it->second.sizes().vec() != shape) {
    auto text = [](at::IntArrayRef dims) {
      std::string s;
      for (auto d : dims) s += (s.empty() ? "[" : ",") + std::to_string(d);
      return s + "]";
    };
    throw std::runtime_error("weight " + name + " has shape " + text(it->second.sizes()) + ", its layer needs " +
                             text(shape));
  }
  return it->second;
}

void set_spatial(TfjsLayersModel::Layer& layer, const JsValue& config, const char* kernel_key) {
  layer.kernel = pair_of(config.at(kernel_key));
  layer.strides = pair_of(config.at("strides"));
  const std::string& padding = config.at("padding").str();
  layer.same_padding = padding == "same";
  if (!layer.same_padding && padding != "valid") throw std::runtime_error("padding '" + padding + "' is not supported");
  if (const JsValue* format = config.find("data_format"); format && format->kind == JsValue::Kind::String &&
                                                          format->str() != "channels_last") {
    throw std::runtime_error("only channels_last layers are supported");
  }
  // TF's 'same' is symmetric only for stride 1 and odd kernels, which is all the backbones here use.
  if (layer.same_padding && (layer.strides[0] != 1 || layer.strides[1] != 1 || layer.kernel[0] % 2 == 0 ||
                             layer.kernel[1] % 2 == 0)) {
    throw std::runtime_error("'same' padding is supported only with stride 1 and odd kernels");
  }
  if (!layer.same_padding && layer.kernel[0] != layer.kernel[1]) {
    throw std::runtime_error("'valid' layers with non-square kernels are not supported");
  }
}

bool relu_activation(const JsValue& config) {
  const JsValue* activation = config.find("activation");
  if (!activation || activation->str() == "linear") return false;
  if (activation->str() == "relu") return true;
  throw std::runtime_error("activation '" + activation->str() + "' is not supported");
}

const JsValue& layer_list(const JsValue& description) {
  const JsValue& topology = description.at("modelTopology");
  const JsValue& model = topology.find("model_config") ? topology.at("model_config") : topology;
  return model.at("config").at("layers");
}

}  // namespace

std::vector<uint8_t> decode_base64(const std::string& text) {
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    int value;
    if (c >= 'A' && c <= 'Z') value = c - 'A';
    else if (c >= 'a' && c <= 'z') value = c - 'a' + 26;
    else if (c >= '0' && c <= '9') value = c - '0' + 52;
    else if (c == '+') value = 62;
    else if (c == '/') value = 63;
    else if (c == '=' || std::isspace(static_cast<unsigned char>(c))) continue;
    else throw std::runtime_error("weight shard is not base64 (character code " + std::to_string(int(c)) + ")");
    buffer = (buffer << 6) | uint32_t(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(uint8_t(buffer >> bits));
    }
  }
  return out;
}

namespace {

using Layer = TfjsLayersModel::Layer;
using Weights = std::map<std::string, at::Tensor>;

// The layer's type-specific settings and weights. `in` is its input (null for several or none); `inputs` all.
void configure_layer(Layer& layer, const JsValue& config, const Layer* in, const std::vector<const Layer*>& inputs,
                     const Weights& weights) {
  if (layer.type == "InputLayer") {
    const std::vector<JsValue>& input_shape = config.at("batch_input_shape").list();
    if (input_shape.empty()) throw std::runtime_error("an empty batch_input_shape");
    layer.channels = whole_number(input_shape.back(), 1, kMaxLayerSize, "input channels");
  } else if ((layer.type == "Conv2D" || layer.type == "BatchNormalization" || layer.type == "Activation" ||
              layer.type == "MaxPooling2D" || layer.type == "AveragePooling2D") && !in) {
    throw std::runtime_error("expects exactly one input");
  } else if (layer.type == "Conv2D") {
    set_spatial(layer, config, "kernel_size");
    if (config.find("dilation_rate") && pair_of(config.at("dilation_rate")) != std::vector<int64_t>{1, 1}) {
      throw std::runtime_error("dilated convolutions are not supported");
    }
    layer.channels = whole_number(config.at("filters"), 1, kMaxLayerSize, "filters");
    layer.relu = relu_activation(config);
    const at::Tensor& hwio = weight(weights, layer.name + "/kernel",
                                    {layer.kernel[0], layer.kernel[1], in->channels, layer.channels});
    layer.weight = hwio.permute({3, 2, 0, 1}).contiguous();
    if (config.at("use_bias").boolean) layer.bias = weight(weights, layer.name + "/bias", {layer.channels});
  } else if (layer.type == "BatchNormalization") {
    if (!is_channel_axis(config.at("axis"))) throw std::runtime_error("normalises an axis other than channels");
    const int64_t c = layer.channels = in->channels;
    const double eps = config.at("epsilon").num();
    const at::Tensor mean = weight(weights, layer.name + "/moving_mean", {c});
    const at::Tensor variance = weight(weights, layer.name + "/moving_variance", {c});
    at::Tensor scale = (variance.to(at::kDouble) + eps).rsqrt();
    if (config.at("scale").boolean) scale = scale * weight(weights, layer.name + "/gamma", {c}).to(at::kDouble);
    at::Tensor shift = -mean.to(at::kDouble) * scale;
    if (config.at("center").boolean) shift = shift + weight(weights, layer.name + "/beta", {c}).to(at::kDouble);
    layer.weight = scale.to(at::kFloat);
    layer.bias = shift.to(at::kFloat);
  } else if (layer.type == "Activation") {
    layer.channels = in->channels;
    layer.relu = relu_activation(config);
  } else if (layer.type == "MaxPooling2D" || layer.type == "AveragePooling2D") {
    set_spatial(layer, config, "pool_size");
    layer.channels = in->channels;
  } else if (layer.type == "Concatenate") {
    if (!is_channel_axis(config.at("axis"))) throw std::runtime_error("concatenates along an axis other than channels");
    for (const Layer* source : inputs) layer.channels += source->channels;
  } else {
    throw std::runtime_error("layer type " + layer.type + " is not supported");
  }
}

// Cell geometry: valid kernels move the first centre by (k - 1) / 2 input cells; strides multiply. Concatenated
// maps must be aligned.
void set_cell_geometry(Layer& layer, const Layer* in, const std::vector<const Layer*>& inputs) {
  if (in) {
    layer.cells = in->cells;
    if (!layer.same_padding && (layer.type == "Conv2D" || layer.type.find("Pooling") != std::string::npos)) {
      layer.cells.first_centre += in->cells.stride * double(layer.kernel[0] - 1) / 2;
      layer.cells.stride *= double(layer.strides[0]);
    }
  } else if (!inputs.empty()) {
    layer.cells = inputs[0]->cells;
    for (const Layer* source : inputs) {
      if (source->cells.stride != layer.cells.stride || source->cells.first_centre != layer.cells.first_centre) {
        throw std::runtime_error("layer " + layer.name + " concatenates maps that are not aligned");
      }
    }
  }
}

}  // namespace

TfjsLayersModel TfjsLayersModel::load(const std::string& folder, const std::string& last_layer) {
  TfjsLayersModel model;
  model.folder_ = folder;
  try {
    if (!fs::is_directory(folder)) throw std::runtime_error("not a folder");
    const JsValue description = read_model_description(folder);
    const std::vector<JsValue>& entries = layer_list(description).list();
    if (std::none_of(entries.begin(), entries.end(), [&](const JsValue& e) { return e.at("name").str() == last_layer; })) {
      throw std::runtime_error("the model has no layer named '" + last_layer + "'");
    }
    const Weights weights = read_weights(folder, description.at("weightsManifest"));
    for (const JsValue& entry : entries) {
      Layer layer;
      layer.name = entry.at("name").str();
      layer.type = entry.at("class_name").str();
      const auto& nodes = entry.at("inbound_nodes").list();
      if (nodes.size() > 1) throw std::runtime_error("layer " + layer.name + " is shared; not supported");
      std::vector<const Layer*> inputs;
      for (const JsValue& input : nodes.empty() ? std::vector<JsValue>{} : nodes[0].list()) {
        const std::string& source = input.list().at(0).str();
        if (!model.index_.count(source)) throw std::runtime_error("layer " + layer.name + " reads unknown layer " + source);
        layer.inputs.push_back(source);
        inputs.push_back(&model.layers_[model.index_.at(source)]);
      }
      const Layer* in = inputs.size() == 1 ? inputs[0] : nullptr;
      try {
        configure_layer(layer, entry.at("config"), in, inputs, weights);
      } catch (const std::exception& e) {
        throw std::runtime_error("layer " + layer.name + ": " + e.what());
      }
      set_cell_geometry(layer, in, inputs);
      model.index_[layer.name] = model.layers_.size();
      model.layers_.push_back(std::move(layer));  // `inputs` pointers are not used past this point
      if (model.layers_.back().name == last_layer) return model;
    }
    throw std::logic_error("unreachable: the last layer was found above");
  } catch (const std::exception& e) {
    throw ModelFileError("TF.js model in " + folder + ": " + e.what());
  }
}

std::vector<at::Tensor> TfjsLayersModel::forward(const at::Tensor& x, const std::vector<std::string>& outputs) const {
  std::vector<size_t> wanted;
  for (const auto& name : outputs) {
    if (!index_.count(name)) throw InvalidArgument("the backbone has no layer named '" + name + "'");
    wanted.push_back(index_.at(name));
  }
  const size_t last = *std::max_element(wanted.begin(), wanted.end());
  // Each value is freed after its last reader, so that large inputs need only the live activations.
  std::vector<size_t> last_use(layers_.size(), 0);
  for (size_t i = 0; i <= last; ++i) {
    for (const auto& source : layers_[i].inputs) last_use[index_.at(source)] = i;
  }
  for (size_t w : wanted) last_use[w] = layers_.size();

  std::vector<at::Tensor> values(layers_.size());
  for (size_t i = 0; i <= last; ++i) {
    const Layer& l = layers_[i];
    at::Tensor y;
    if (l.type == "InputLayer") {
      if (x.dim() != 4 || x.size(1) != l.channels) throw InvalidArgument("backbone input must be [N, 3, H, W]");
      y = x.contiguous(at::MemoryFormat::ChannelsLast);
    } else if (l.type == "Concatenate") {
      std::vector<at::Tensor> parts;
      for (const auto& source : l.inputs) parts.push_back(values[index_.at(source)]);
      y = at::cat(parts, 1);
    } else {
      const at::Tensor& in = values[index_.at(l.inputs[0])];
      const std::vector<int64_t> pad = l.same_padding ? std::vector<int64_t>{(l.kernel[0] - 1) / 2, (l.kernel[1] - 1) / 2}
                                                      : std::vector<int64_t>{0, 0};
      if (l.type == "Conv2D") {
        y = at::conv2d(in, l.weight, l.bias, l.strides, pad);
      } else if (l.type == "BatchNormalization") {
        y = at::addcmul(l.bias.view({1, -1, 1, 1}), in, l.weight.view({1, -1, 1, 1}));
      } else if (l.type == "MaxPooling2D") {
        y = at::max_pool2d(in, l.kernel, l.strides, pad);
      } else if (l.type == "AveragePooling2D") {  // Keras excludes padded cells from the average
        y = at::avg_pool2d(in, l.kernel, l.strides, pad, false, /*count_include_pad=*/false);
      } else {
        y = in;
      }
      if (l.relu) y = at::relu(y);
    }
    values[i] = y;
    for (const auto& source : l.inputs) {
      const size_t s = index_.at(source);
      if (last_use[s] == i) values[s] = at::Tensor();
    }
  }
  std::vector<at::Tensor> result;
  for (size_t w : wanted) result.push_back(values[w]);
  return result;
}

CellGeometry TfjsLayersModel::geometry(const std::string& layer) const {
  if (!index_.count(layer)) throw InvalidArgument("the backbone has no layer named '" + layer + "'");
  return layers_[index_.at(layer)].cells;
}

int64_t TfjsLayersModel::channels(const std::string& layer) const {
  if (!index_.count(layer)) throw InvalidArgument("the backbone has no layer named '" + layer + "'");
  return layers_[index_.at(layer)].channels;
}

}  // namespace efficientad::detail
