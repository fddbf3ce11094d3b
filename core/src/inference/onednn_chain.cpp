#include "config.h"

#if EFFICIENTAD_HAVE_ONEDNN
#include "inference/onednn_chain.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include <omp.h>

#include "efficientad/errors.h"

namespace efficientad::detail {

namespace {

using memory = dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

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

}  // namespace

std::vector<float> units_of_ranges(const std::vector<float>& ranges, const std::string& what) {
  std::vector<float> units(ranges.size());
  for (size_t o = 0; o < ranges.size(); ++o) {
    if (!(ranges[o] > 0)) throw InvalidArgument("int8 network: " + what + " is not calibrated (a range <= 0)");
    units[o] = ranges[o] / 255.0f;
  }
  return units;
}

std::vector<float> output_units(const Int8LayerWeights& l, bool hidden) {
  const auto oc = size_t(l.spec.out_channels);
  if (!hidden) return std::vector<float>(oc, 1.0f);
  if (l.activation_range.size() != oc) {
    throw InvalidArgument("int8 network: layer " + l.spec.name + " is not calibrated (needs one range per channel)");
  }
  return units_of_ranges(l.activation_range, "layer " + l.spec.name);
}

QuantisedLayer quantise_layer(const Int8LayerWeights& l, const std::vector<float>& input_units,
                              const std::vector<int>& remainder, const std::vector<float>& units, bool hidden,
                              bool round_after_pool) {
  const int64_t oc = l.spec.out_channels, ic = l.spec.in_channels, taps = l.spec.kernel * l.spec.kernel;
  if (int64_t(l.weight.size()) != oc * ic * taps || int64_t(l.bias.size()) != oc ||
      int64_t(input_units.size()) != ic || int64_t(units.size()) != oc) {
    throw InvalidArgument("int8 network: layer " + l.spec.name + " has weights of the wrong size");
  }
  int64_t in_channels = ic;
  const std::vector<float> w = folded_weights(l, input_units, remainder, in_channels);
  QuantisedLayer q{l.spec, std::vector<int8_t>(w.size()), {}, std::vector<float>(size_t(oc)),
                   std::vector<float>(size_t(oc)), hidden, {}, {}};
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
    q.output_scale[size_t(o)] = round_after_pool ? weight_unit : weight_unit / units[size_t(o)];
  }
  return q;
}

bool OnednnChain::built_for(int count) const {
  return count == built_count_ && omp_get_max_threads() == built_threads_;
}

void OnednnChain::build(int count) {
  steps_.clear();
  built_count_ = count;
  built_threads_ = omp_get_max_threads();
}

memory OnednnChain::append_conv(const QuantisedLayer& l, const memory& src, memory::dim p, dt dst_type) {
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
  memory weights(pd.weights_desc(), engine);  // pre-packed once, in the layout the kernel wants
  dnnl::reorder(plain_weights, weights).execute(stream, plain_weights, weights);
  memory bias(bias_md, engine, const_cast<float*>(l.bias.data()));
  memory dst = l.hidden ? memory(dst_md, engine) : memory(dst_md, engine, DNNL_MEMORY_NONE);  // output: the caller's
  append_primitive(dnnl::convolution_forward(pd),
                   {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}});
  return dst;
}

memory OnednnChain::append_pool(const memory& src, memory::dim pp) {
  const memory::dims in = src.get_desc().dims();
  const memory::dim h = in[2], w = in[3];
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

memory OnednnChain::append_reorder(const memory& src, dt type, const std::vector<float>& scale) {
  const memory::desc dst_md(src.get_desc().dims(), type, tag::nhwc);
  memory dst(dst_md, engine);
  dnnl::primitive_attr attr;
  if (!scale.empty()) attr.set_output_scales(1 << 1, scale);
  append_primitive(dnnl::reorder(dnnl::reorder::primitive_desc(engine, src.get_desc(), engine, dst_md, attr)),
                   {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}});
  return dst;
}

memory OnednnChain::append_u8_with_remainder(const memory& src, const QuantisedLayer& l) {
  const memory::dims d = src.get_desc().dims();
  const int64_t channels = d[1], extra = int64_t(l.remainder_channels.size()), pixels = d[0] * d[2] * d[3];
  memory dst({{d[0], channels + extra, d[2], d[3]}, dt::u8, tag::nhwc}, engine);
  steps_.push_back([this, src, dst, channels, extra, pixels, scale = l.u8_scale, split = l.remainder_channels]() {
    stream.wait();  // the step before this one has finished
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

memory OnednnChain::append_resize(const memory& src, memory::dim height, memory::dim width) {
  const memory::dims in = src.get_desc().dims();
  const memory::desc dst_md({in[0], in[1], height, width}, src.get_desc().data_type(), tag::nhwc);
  const dnnl::resampling_forward::primitive_desc pd(
      dnnl::resampling_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::resampling_linear,
                                     src.get_desc(), dst_md),
      engine);
  memory dst(dst_md, engine);
  append_primitive(dnnl::resampling_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  return dst;
}

void OnednnChain::run() {
  try {
    for (const auto& step : steps_) step();
    stream.wait();
  } catch (const dnnl::error& e) {
    throw Error(std::string("oneDNN int8 inference failed: ") + e.what());
  }
}

void OnednnChain::append_primitive(const dnnl::primitive& primitive, const std::unordered_map<int, memory>& args) {
  steps_.push_back([this, primitive, args]() { primitive.execute(stream, args); });
}

}  // namespace efficientad::detail

#endif
