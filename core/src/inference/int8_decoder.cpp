#include "inference/int8_decoder.h"

#include <string>

#include "config.h"
#include "efficientad/errors.h"

#if EFFICIENTAD_HAVE_ONEDNN
#include "inference/onednn_chain.h"
#endif

namespace efficientad::detail {

#if EFFICIENTAD_HAVE_ONEDNN

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

struct Int8Decoder::Impl {
  OnednnChain chain;
  std::vector<QuantisedLayer> layers;
  std::vector<DecoderResize> resizes;
  std::vector<float> input_scale;  // 1 / the input's u8 step, per channel
  int width = 0, height = 0;

  memory input, output;

  void build(int count) {
    chain.build(count);
    const auto channels = memory::dim(input_scale.size());
    input = memory({{count, channels, height, width}, dt::f32, tag::nhwc}, chain.engine, DNNL_MEMORY_NONE);
    memory current = chain.append_reorder(input, dt::u8, input_scale);
    for (size_t i = 0; i < layers.size(); ++i) {
      if (resizes[i].height > 0) current = chain.append_resize(current, resizes[i].height, resizes[i].width);
      current = chain.append_conv(layers[i], current, layers[i].spec.padding, layers[i].hidden ? dt::u8 : dt::f32);
    }
    output = current;
  }
};

namespace {

void check_layers(const std::vector<Int8LayerWeights>& layers, const std::vector<DecoderResize>& resizes,
                  const std::vector<float>& input_range) {
  if (layers.empty() || resizes.size() != layers.size()) {
    throw InvalidArgument("int8 decoder: needs layers and one resize entry per layer");
  }
  if (input_range.size() != size_t(layers.front().spec.in_channels)) {
    throw InvalidArgument("int8 decoder: " + std::to_string(input_range.size()) + " input ranges for " +
                          std::to_string(layers.front().spec.in_channels) + " input channels");
  }
  for (const auto& l : layers) {
    if (l.spec.stride != 1 || l.spec.avg_pool) {
      throw InvalidArgument("int8 decoder: layer " + l.spec.name + " has a stride or pooling");
    }
  }
}

}  // namespace

Int8Decoder::Int8Decoder(const std::vector<Int8LayerWeights>& layers, const std::vector<DecoderResize>& resizes,
                         const std::vector<float>& input_range, int input_width, int input_height)
    : impl_(std::make_unique<Impl>()) {
  check_layers(layers, resizes, input_range);
  std::vector<float> input_units = units_of_ranges(input_range, "the decoder's input");
  for (float range : input_range) impl_->input_scale.push_back(255.0f / range);
  for (size_t i = 0; i < layers.size(); ++i) {
    const bool hidden = i + 1 < layers.size();
    const std::vector<float> units = output_units(layers[i], hidden);
    impl_->layers.push_back(quantise_layer(layers[i], input_units, {}, units, hidden, false));
    input_units = units;
  }
  impl_->resizes = resizes;
  impl_->width = input_width;
  impl_->height = input_height;
}

void Int8Decoder::run(const float* input, int count, float* out) {
  Impl& m = *impl_;
  try {
    if (!m.chain.built_for(count)) m.build(count);
  } catch (const dnnl::error& e) {
    throw Error(std::string("oneDNN int8 decoder: ") + e.what());
  }
  m.input.set_data_handle(const_cast<float*>(input));
  m.output.set_data_handle(out);
  m.chain.run();
}

#else  // no oneDNN in this build

struct Int8Decoder::Impl {};

Int8Decoder::Int8Decoder(const std::vector<Int8LayerWeights>&, const std::vector<DecoderResize>&,
                         const std::vector<float>&, int, int) {
  throw Error("this build has no oneDNN: install libdnnl-dev and rebuild for the int8 fast mode");
}
void Int8Decoder::run(const float*, int, float*) {}

#endif

Int8Decoder::~Int8Decoder() = default;

}  // namespace efficientad::detail
