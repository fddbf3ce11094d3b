#include "inference/int8_pdn.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <string>
#include <unordered_map>

#include "config.h"
#include "efficientad/errors.h"

#if EFFICIENTAD_HAVE_ONEDNN
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
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

// One layer in integer form. oneDNN computes dst = output_scale[oc] * (sum(src_u8 * weight_s8) + bias[oc]).
// An fp32 first layer (FirstLayer::Fp32) keeps float_weight and a bias in real units. A layer with u8_scale
// writes fp32 in real units instead of u8; pooled in fp32, that is rounded to u8 steps of 1 / u8_scale[oc].
struct QuantisedLayer {
  ConvSpec spec;
  std::vector<int8_t> weight;       // OIHW; empty for the fp32 first layer
  std::vector<float> float_weight;  // OIHW; the fp32 first layer only
  std::vector<float> bias;          // in accumulator units (int8) or real units (fp32)
  std::vector<float> output_scale;  // per output channel, int8 layers
  bool hidden;                      // ReLU and a u8 hand-off; else the fp32 output layer
  std::vector<float> u8_scale;      // per output channel: rounded to u8 after the pooling, by our own step
  std::vector<int> remainder_channels;  // with u8_scale: channels that also hand on their rounding remainder
  bool fp32() const { return !float_weight.empty(); }
  bool rounds_after_pool() const { return !u8_scale.empty(); }
};

// Makes q round its pooled fp32 output to u8 steps of `units` itself, its `remainders` channels whose rounding
// weighs most in `next` handing on their remainder (channels_with_remainder).
void round_after_pool(QuantisedLayer& q, const std::vector<float>& units, const Int8LayerWeights& next,
                      int remainders) {
  q.u8_scale.resize(units.size());
  for (size_t i = 0; i < units.size(); ++i) q.u8_scale[i] = 1.0f / units[i];
  q.remainder_channels = channels_with_remainder(next, units, remainders);
}

// The real value of one u8 step of each output channel of a hidden layer; 1 for the fp32 output layer.
std::vector<float> output_units(const Int8LayerWeights& l, bool hidden) {
  const auto oc = size_t(l.spec.out_channels);
  if (!hidden) return std::vector<float>(oc, 1.0f);
  if (l.activation_range.size() != oc) {
    throw InvalidArgument("int8 PDN: layer " + l.spec.name + " is not calibrated (needs one range per channel)");
  }
  std::vector<float> units(oc);
  for (size_t o = 0; o < oc; ++o) {
    if (!(l.activation_range[o] > 0)) throw InvalidArgument("int8 PDN: layer " + l.spec.name + " is not calibrated");
    units[o] = l.activation_range[o] / 255.0f;
  }
  return units;
}

// Layer l's weights, each input channel c times input_units[c] (the real value of its u8 step); the channels in
// `remainder` arrive a second time after the others, in steps kRemainderSteps times finer. Sets in_channels.
std::vector<float> folded_weights(const Int8LayerWeights& l, const std::vector<float>& input_units,
                                  const std::vector<int>& remainder, int64_t& in_channels) {
  const int64_t oc = l.spec.out_channels, ic = l.spec.in_channels, taps = int64_t(l.spec.kernel) * l.spec.kernel;
  in_channels = ic + int64_t(remainder.size());
  std::vector<float> w(size_t(oc * in_channels * taps));
  for (int64_t o = 0; o < oc; ++o) {
    for (int64_t c = 0; c < in_channels; ++c) {
      const int64_t source = c < ic ? c : remainder[size_t(c - ic)];
      const float unit = input_units[size_t(source)] / (c < ic ? 1.0f : kRemainderSteps);
      for (int64_t t = 0; t < taps; ++t) {
        w[size_t((o * in_channels + c) * taps + t)] = l.weight[size_t((o * ic + source) * taps + t)] * unit;
      }
    }
  }
  return w;
}

// Input channel c of a layer arrives as u8 in steps of input_units[c]: conv(W, x) == conv(W * unit, x_u8), so the
// units move into the weights, which are then quantised per output channel.
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
    int64_t in_channels = ic;
    const std::vector<float> w = folded_weights(l, input_units, remainder, in_channels);
    QuantisedLayer q{l.spec, std::vector<int8_t>(w.size()), {}, std::vector<float>(size_t(oc)),
                     std::vector<float>(size_t(oc)), i + 1 < layers.size(), {}, {}};
    const bool with_remainder = i == 1 && second_layer == SecondLayer::Int8WithRemainder;
    if (with_remainder) round_after_pool(q, units, layers[2], kSecondLayerRemainderChannels);  // writes real units
    q.spec.in_channels = int(in_channels);
    const int64_t per_output = in_channels * taps;
    for (int64_t o = 0; o < oc; ++o) {
      const auto first = w.begin() + o * per_output, last = first + per_output;
      const float largest = std::accumulate(first, last, 0.0f, [](float m, float v) { return std::max(m, std::abs(v)); });
      const float weight_unit = largest > 0 ? largest / 127.0f : 1.0f;
      for (int64_t k = 0; k < per_output; ++k) {
        q.weight[size_t(o * per_output + k)] = int8_t(std::lround(std::clamp(first[k] / weight_unit, -127.0f, 127.0f)));
      }
      q.bias[size_t(o)] = l.bias[size_t(o)] / weight_unit;
      q.output_scale[size_t(o)] = with_remainder ? weight_unit : weight_unit / units[size_t(o)];
    }
    remainder = q.remainder_channels;
    out.push_back(std::move(q));
    input_units = units;
  }
  return out;
}

}  // namespace

struct Int8Pdn::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::vector<QuantisedLayer> layers;
  bool padding;
  int width, height;

  // Primitives and buffers for `built_count` images on `built_threads` OpenMP threads (oneDNN fixes a
  // primitive's thread split when it is created).
  int built_count = 0, built_threads = 0;
  std::vector<std::function<void()>> steps;
  memory input, output;
  std::vector<uint8_t> padded_images;

  int first_padding() const { return padding ? int(layers.front().spec.padding) : 0; }

  void build(int count) {
    steps.clear();
    const int pad = first_padding();  // applied by copying into a mean-filled buffer, see run()
    input = memory({{count, 3, height + 2 * pad, width + 2 * pad}, dt::u8, tag::nhwc}, engine, DNNL_MEMORY_NONE);
    memory current = input;
    for (size_t i = 0; i < layers.size(); ++i) {
      const QuantisedLayer& l = layers[i];
      const memory::dim p = i == 0 ? 0 : l.spec.padding;
      if (l.rounds_after_pool()) {  // fp32 output, pooled, then rounded (with remainders) by our own steps
        current = append_conv(l, l.fp32() ? append_reorder(current, dt::f32, {}) : current, p, dt::f32);
        if (l.spec.avg_pool) current = append_pool(current);
        current = l.remainder_channels.empty() ? append_reorder(current, dt::u8, l.u8_scale)
                                               : append_u8_with_remainder(current, l);
        continue;
      }
      current = append_conv(l, current, p, l.hidden ? dt::u8 : dt::f32);
      if (l.spec.avg_pool) current = append_pool(current);
    }
    output = current;
    built_count = count;
    built_threads = omp_get_max_threads();
  }

  // src -> conv (+ ReLU for hidden layers) -> a new dst of type `dst_type`; int8 layers scale per output channel.
  memory append_conv(const QuantisedLayer& l, const memory& src, memory::dim p, dt dst_type) {
    const memory::dims in = src.get_desc().dims();
    const memory::dim k = l.spec.kernel, oc = l.spec.out_channels;
    const memory::desc dst_md({in[0], oc, in[2] + 2 * p - k + 1, in[3] + 2 * p - k + 1}, dst_type, tag::nhwc);
    const memory::desc weight_md({oc, in[1], k, k}, l.fp32() ? dt::f32 : dt::s8, tag::any);
    const memory::desc bias_md({oc}, dt::f32, tag::x);
    dnnl::primitive_attr attr;
    if (!l.fp32()) attr.set_output_scales(1 << 1, l.output_scale);
    if (l.hidden) {
      dnnl::post_ops relu;
      relu.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(relu);
    }
    const dnnl::convolution_forward::primitive_desc pd(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                        src.get_desc(), weight_md, bias_md, dst_md, {1, 1}, {p, p}, {p, p}),
        attr, engine);
    void* plain = l.fp32() ? static_cast<void*>(const_cast<float*>(l.float_weight.data()))
                           : static_cast<void*>(const_cast<int8_t*>(l.weight.data()));
    memory plain_weights({{oc, in[1], k, k}, l.fp32() ? dt::f32 : dt::s8, tag::oihw}, engine, plain);
    memory weights(pd.weights_desc(), engine);
    dnnl::reorder(plain_weights, weights).execute(stream, plain_weights, weights);
    memory bias(bias_md, engine, const_cast<float*>(l.bias.data()));
    memory dst = l.hidden ? memory(dst_md, engine) : memory(dst_md, engine, DNNL_MEMORY_NONE);  // output: run()'s
    append_primitive(dnnl::convolution_forward(pd),
                     {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}});
    return dst;
  }

  // 2x2 average pooling, stride 2, in src's data type. PyTorch's AvgPool2d counts padding zeros
  // (count_include_pad) and drops a trailing odd row/column.
  memory append_pool(const memory& src) {
    const memory::dims in = src.get_desc().dims();
    const memory::dim pp = pdn_pool_padding(padding), h = in[2], w = in[3];
    const memory::dim ph = (h + 2 * pp - 2) / 2 + 1, pw = (w + 2 * pp - 2) / 2 + 1;
    const memory::desc pooled_md({in[0], in[1], ph, pw}, src.get_desc().data_type(), tag::nhwc);
    const dnnl::pooling_forward::primitive_desc pool_pd(
        dnnl::pooling_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_avg_include_padding,
                                    src.get_desc(), pooled_md, {2, 2}, {2, 2}, {pp, pp},
                                    {pp - ((h + 2 * pp - 2) % 2), pp - ((w + 2 * pp - 2) % 2)}),
        engine);
    memory pooled(pooled_md, engine);
    append_primitive(dnnl::pooling_forward(pool_pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, pooled}});
    return pooled;
  }

  // src converted to `type` (rounded to nearest and saturated for u8), times scale[c] per channel if given.
  memory append_reorder(const memory& src, dt type, const std::vector<float>& scale) {
    const memory::desc dst_md(src.get_desc().dims(), type, tag::nhwc);
    memory dst(dst_md, engine);
    dnnl::primitive_attr attr;
    if (!scale.empty()) attr.set_output_scales(1 << 1, scale);
    append_primitive(dnnl::reorder(dnnl::reorder::primitive_desc(engine, src.get_desc(), engine, dst_md, attr)),
                     {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}});
    return dst;
  }

  // src (fp32, NHWC) to u8 steps of 1 / l.u8_scale[c], rounded to nearest; l.remainder_channels round down
  // instead, and what that dropped follows, in steps kRemainderSteps times finer, as channels C, C + 1, ...
  memory append_u8_with_remainder(const memory& src, const QuantisedLayer& l) {
    const memory::dims d = src.get_desc().dims();
    const int64_t channels = d[1], extra = int64_t(l.remainder_channels.size()), pixels = d[0] * d[2] * d[3];
    memory dst({{d[0], channels + extra, d[2], d[3]}, dt::u8, tag::nhwc}, engine);
    steps.push_back([this, src, dst, channels, extra, pixels, scale = l.u8_scale, split = l.remainder_channels]() {
      stream.wait();  // the pooling before this step has finished
      const auto* in = static_cast<const float*>(src.get_data_handle());
      auto* out = static_cast<uint8_t*>(dst.get_data_handle());
#pragma omp parallel for schedule(static)
      for (int64_t p = 0; p < pixels; ++p) {
        const float* x = in + p * channels;
        uint8_t* y = out + p * (channels + extra);
        for (int64_t c = 0; c < channels; ++c) y[c] = uint8_t(std::clamp(x[c] * scale[size_t(c)], 0.0f, 255.0f) + 0.5f);
        for (int64_t j = 0; j < extra; ++j) {
          const auto c = size_t(split[size_t(j)]);
          const float v = std::max(x[c] * scale[c], 0.0f), whole = std::min(std::floor(v), 255.0f);
          y[c] = uint8_t(whole);
          y[channels + j] = uint8_t(std::min((v - whole) * kRemainderSteps, 255.0f) + 0.5f);
        }
      }
    });
    return dst;
  }

  void append_primitive(const dnnl::primitive& primitive, const std::unordered_map<int, memory>& args) {
    steps.push_back([this, primitive, args]() { primitive.execute(stream, args); });
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
    if (count != m.built_count || omp_get_max_threads() != m.built_threads) m.build(count);
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
    for (const auto& step : m.steps) step();
    m.stream.wait();
  } catch (const dnnl::error& e) {
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
