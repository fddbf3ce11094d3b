#include "inference/int8_pdn.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>

#include "config.h"
#include "efficientad/errors.h"

#if EFFICIENTAD_HAVE_ONEDNN
#include "inference/onednn_chain.h"
#endif

namespace efficientad::detail {

bool Int8Pdn::available() { return EFFICIENTAD_HAVE_ONEDNN != 0; }

std::vector<int> channels_with_remainder(const Int8LayerWeights& next, const std::vector<float>& units, int count) {
  const auto ic = size_t(next.spec.in_channels), taps = size_t(next.spec.kernel) * size_t(next.spec.kernel);
  if (units.size() != ic || next.weight.size() != size_t(next.spec.out_channels) * ic * taps) {
    throw InvalidArgument("int8 PDN: layer " + next.spec.name + " has weights of the wrong size");
  }
  std::vector<double> noise(ic, 0.0);
  for (size_t k = 0; k < next.weight.size(); ++k) noise[k / taps % ic] += double(next.weight[k]) * next.weight[k];
  std::vector<int> order(ic);
  std::iota(order.begin(), order.end(), 0);
  for (size_t c = 0; c < ic; ++c) noise[c] *= double(units[c]) * units[c];
  const size_t kept = std::min(ic, size_t(std::max(count, 0)));
  std::partial_sort(order.begin(), order.begin() + long(kept), order.end(),
                    [&](int a, int b) { return noise[size_t(a)] > noise[size_t(b)]; });
  order.resize(kept);
  std::sort(order.begin(), order.end());
  return order;
}

#if EFFICIENTAD_HAVE_ONEDNN

namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

// Raw-pixel value of a zero in ImageNet-normalised units (mean x 255, rounded): what PDN zero padding becomes
// once the normalisation lives in the first layer's weights.
constexpr uint8_t kMeanPixel[3] = {124, 116, 104};

// Makes q round its pooled fp32 output to u8 steps of `units` itself, its `remainders` channels whose rounding
// weighs most in `next` handing on their remainder (channels_with_remainder).
void round_after_pool(QuantisedLayer& q, const std::vector<float>& units, const Int8LayerWeights& next,
                      int remainders) {
  q.u8_scale.resize(units.size());
  for (size_t i = 0; i < units.size(); ++i) q.u8_scale[i] = 1.0f / units[i];
  q.remainder_channels = channels_with_remainder(next, units, remainders);
}

// The PDN's layers in integer form, each reading the previous one's u8 steps (quantise_layer); the first reads raw
// pixels, in int8 or fp32 (first_layer).
std::vector<QuantisedLayer> quantise(const std::vector<Int8LayerWeights>& layers, FirstLayer first_layer,
                                     SecondLayer second_layer) {
  if (second_layer == SecondLayer::Int8WithRemainder && layers.size() < 3) {
    throw InvalidArgument("int8 PDN: a second-layer remainder needs a third layer, the PDN has " +
                          std::to_string(layers.size()));
  }
  std::vector<QuantisedLayer> out;
  std::vector<float> input_units(3, 1.0f);  // the first layer reads raw pixels
  std::vector<int> remainder;               // input channels that also arrive as a finer remainder
  for (size_t i = 0; i < layers.size(); ++i) {
    const Int8LayerWeights& l = layers[i];
    const int64_t oc = l.spec.out_channels, ic = l.spec.in_channels, taps = l.spec.kernel * l.spec.kernel;
    if (int64_t(l.weight.size()) != oc * ic * taps || int64_t(l.bias.size()) != oc || int64_t(input_units.size()) != ic) {
      throw InvalidArgument("int8 PDN: layer " + l.spec.name + " has weights of the wrong size");
    }
    const std::vector<float> units = output_units(l, i + 1 < layers.size());
    if (i == 0 && first_layer != FirstLayer::Int8 && layers.size() > 1) {  // its u8 output steps are `units`
      QuantisedLayer q{l.spec, {}, l.weight, l.bias, {}, true, {}, {}};
      round_after_pool(q, units, layers[1], first_layer == FirstLayer::Fp32WithRemainder ? kRemainderChannels : 0);
      remainder = q.remainder_channels;
      out.push_back(std::move(q));
      input_units = units;
      continue;
    }
    const bool with_remainder = i == 1 && second_layer == SecondLayer::Int8WithRemainder;  // writes real units
    QuantisedLayer q = quantise_layer(l, input_units, remainder, units, i + 1 < layers.size(), with_remainder);
    if (with_remainder) round_after_pool(q, units, layers[2], kSecondLayerRemainderChannels);
    remainder = q.remainder_channels;
    out.push_back(std::move(q));
    input_units = units;
  }
  return out;
}

}  // namespace

struct Int8Pdn::Impl {
  OnednnChain chain;
  std::vector<QuantisedLayer> layers;
  bool padding;
  int width, height;

  memory input, output;  // of the chain as last built
  std::vector<uint8_t> padded_images;

  int first_padding() const { return padding ? int(layers.front().spec.padding) : 0; }

  void build(int count) {
    chain.build(count);
    const int pad = first_padding();  // applied by copying into a mean-filled buffer, see run()
    input = memory({{count, 3, height + 2 * pad, width + 2 * pad}, dt::u8, tag::nhwc}, chain.engine, DNNL_MEMORY_NONE);
    memory current = input;
    for (size_t i = 0; i < layers.size(); ++i) {
      const QuantisedLayer& l = layers[i];
      const memory::dim p = i == 0 ? 0 : l.spec.padding;
      const memory::dim pool_padding = pdn_pool_padding(padding);
      if (l.rounds_after_pool()) {  // fp32 output, pooled, then rounded (with remainders) by our own steps
        current = chain.append_conv(l, l.fp32() ? chain.append_reorder(current, dt::f32, {}) : current, p, dt::f32);
        if (l.spec.avg_pool) current = chain.append_pool(current, pool_padding);
        current = l.remainder_channels.empty() ? chain.append_reorder(current, dt::u8, l.u8_scale)
                                               : chain.append_u8_with_remainder(current, l);
        continue;
      }
      current = chain.append_conv(l, current, p, l.hidden ? dt::u8 : dt::f32);
      if (l.spec.avg_pool) current = chain.append_pool(current, pool_padding);
    }
    output = current;
  }
};

Int8Pdn::Int8Pdn(const std::vector<Int8LayerWeights>& layers, bool padding, int input_width, int input_height,
                 FirstLayer first_layer, SecondLayer second_layer)
    : impl_(std::make_unique<Impl>()) {
  if (layers.empty() || layers.front().spec.in_channels != 3) throw InvalidArgument("int8 PDN: needs an RGB first layer");
  impl_->layers = quantise(layers, first_layer, second_layer);
  impl_->padding = padding;
  impl_->width = input_width;
  impl_->height = input_height;
}

Int8Pdn::~Int8Pdn() = default;

void Int8Pdn::run(const uint8_t* images, int count, float* out) {
  Impl& m = *impl_;
  try {
    if (!m.chain.built_for(count)) m.build(count);
    const int pad = m.first_padding();
    if (pad > 0) {  // frame each image with the mean pixel, then copy it in
      const int pw = m.width + 2 * pad, ph = m.height + 2 * pad;
      m.padded_images.resize(size_t(count) * pw * ph * 3);
      for (size_t i = 0; i < m.padded_images.size(); i += 3) std::memcpy(&m.padded_images[i], kMeanPixel, 3);
      for (int n = 0; n < count; ++n) {
        for (int y = 0; y < m.height; ++y) {
          std::memcpy(&m.padded_images[((size_t(n) * ph + y + pad) * pw + pad) * 3],
                      images + ((size_t(n) * m.height + y) * m.width) * 3, size_t(m.width) * 3);
        }
      }
      m.input.set_data_handle(m.padded_images.data());
    } else {
      m.input.set_data_handle(const_cast<uint8_t*>(images));
    }
    m.output.set_data_handle(out);
    m.chain.run();
  } catch (const dnnl::error& e) {  // building the primitives
    throw Error(std::string("oneDNN int8 inference failed: ") + e.what());
  }
}

#else  // no oneDNN in this build

struct Int8Pdn::Impl {};

Int8Pdn::Int8Pdn(const std::vector<Int8LayerWeights>&, bool, int, int, FirstLayer, SecondLayer) {
  throw Error("this build has no oneDNN: install libdnnl-dev and rebuild for the int8 fast mode");
}
Int8Pdn::~Int8Pdn() = default;
void Int8Pdn::run(const uint8_t*, int, float*) {}

#endif

}  // namespace efficientad::detail
