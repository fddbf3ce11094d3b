#include "model/networks.h"

#include <cmath>

#include "inference/winograd.h"

namespace efficientad::detail {

namespace {

Conv make_conv(const ConvSpec& spec) {
  const double fan_in = double(spec.in_channels * spec.kernel * spec.kernel);
  const double bound = 1.0 / std::sqrt(fan_in);
  auto uniform = [&](at::IntArrayRef shape) { return at::rand(shape) * (2 * bound) - bound; };
  return Conv{spec, uniform({spec.out_channels, spec.in_channels, spec.kernel, spec.kernel}),
              uniform({spec.out_channels}), nullptr};
}

at::Tensor apply_layer(const Conv& conv, at::Tensor x, bool padding) {
  const bool relu_fused = conv.runs_winograd(x);
  x = conv(x);
  if (conv.spec.relu && !relu_fused) x = at::relu(x);
  if (conv.spec.avg_pool) {
    const int64_t p = pdn_pool_padding(padding);
    x = at::avg_pool2d(x, {2, 2}, {2, 2}, {p, p});
  }
  return x;
}

// Dropout with its keep-mask drawn in NCHW order and in fp32 whatever the layout and dtype of x, so that
// channels-last, NCHW, fp32 and bf16 runs from the same seed drop the same units.
at::Tensor decoder_dropout(const at::Tensor& x, double p, bool train) {
  if (!train || p == 0.0) return x;
  const at::Tensor keep = at::empty(x.sizes(), x.options().dtype(at::kFloat).memory_format(at::MemoryFormat::Contiguous)).bernoulli_(1.0 - p).div_(1.0 - p);
  return x * keep.to(x.scalar_type());
}

}  // namespace

bool Conv::runs_winograd(const at::Tensor& x) const {
  return winograd && x.device().is_cpu() && x.scalar_type() == at::kFloat && !x.requires_grad() && x.dim() == 4;
}

at::Tensor Conv::operator()(const at::Tensor& x) const {
  if (!runs_winograd(x)) return at::conv2d(x, weight, bias, {spec.stride, spec.stride}, {spec.padding, spec.padding});
  const at::Tensor in = x.contiguous(at::MemoryFormat::ChannelsLast);  // NHWC in memory
  const int count = int(in.size(0)), height = int(in.size(2)), width = int(in.size(3));
  at::Tensor out = at::empty({count, spec.out_channels, winograd->output_side(height), winograd->output_side(width)},
                             in.options().memory_format(at::MemoryFormat::ChannelsLast));
  winograd->run(in.data_ptr<float>(), count, height, width, out.data_ptr<float>());
  return out;
}

bool attach_winograd(std::vector<Conv>& layers) {
  bool attached = false;
  for (auto& c : layers) {
    if (!WinogradConv::available() || !WinogradConv::suits(c.spec)) continue;
    const at::Tensor w = c.weight.detach().to(at::kCPU, at::kFloat).contiguous();
    const at::Tensor b = c.bias.detach().to(at::kCPU, at::kFloat).contiguous();
    c.winograd = std::make_shared<const WinogradConv>(c.spec, w.data_ptr<float>(), b.data_ptr<float>(), c.spec.relu);
    attached = true;
  }
  return attached;
}

at::Tensor Pdn::forward(const at::Tensor& input) const {
  at::Tensor x = input;
  for (const auto& layer : layers) x = apply_layer(layer, x, padding);
  return x;
}

at::Tensor Pdn::body(const at::Tensor& input) const {
  at::Tensor x = input;
  for (size_t i = 0; i + 1 < layers.size(); ++i) x = apply_layer(layers[i], x, padding);
  return x;
}

at::Tensor Pdn::head(const at::Tensor& features, int64_t first, int64_t count) const {
  const Conv& last = layers.back();
  Conv narrowed{last.spec, last.weight.narrow(0, first, count), last.bias.narrow(0, first, count), nullptr};
  narrowed.spec.out_channels = count;
  return apply_layer(narrowed, features, padding);
}

at::Tensor Pdn::forward_channels(const at::Tensor& input, int64_t first, int64_t count) const {
  return head(body(input), first, count);
}

at::Tensor Autoencoder::forward(const at::Tensor& input, bool train) const {
  at::Tensor x = encode(input);
  for (size_t i = 0; i < decoder.size(); ++i) {
    x = decode_layer(i, x);
    if (i < 6) x = decoder_dropout(x, kDecoderDropout, train);  // Dropout-1..6 follow DecConv-1..6
  }
  return x;
}

at::Tensor Autoencoder::encode(const at::Tensor& input) const {
  at::Tensor x = input;
  for (const auto& layer : encoder) x = apply_layer(layer, x, false);
  return x;
}

at::Tensor Autoencoder::decode_layer(size_t i, const at::Tensor& input) const {
  at::Tensor x = input;
  if (i < upsample_heights.size()) {
    x = at::upsample_bilinear2d(x, {upsample_heights[i], upsample_widths[i]}, /*align_corners=*/false);
  }
  return apply_layer(decoder.at(i), x, false);
}

Pdn make_pdn(Variant variant, int64_t out_channels, bool padding) {
  Pdn net;
  net.variant = variant;
  net.padding = padding;
  for (const auto& spec : pdn_layers(variant, out_channels, padding)) net.layers.push_back(make_conv(spec));
  return net;
}

Autoencoder make_autoencoder(const ModelGeometry& g) {
  Autoencoder net;
  for (const auto& spec : encoder_layers()) net.encoder.push_back(make_conv(spec));
  for (const auto& spec : decoder_layers(kTeacherChannels)) net.decoder.push_back(make_conv(spec));
  net.upsample_heights = decoder_upsample_sides(g.input_height, g.feature_height());
  net.upsample_widths = decoder_upsample_sides(g.input_width, g.feature_width());
  return net;
}

std::vector<Conv*> conv_layers(Pdn& net) {
  std::vector<Conv*> out;
  for (auto& c : net.layers) out.push_back(&c);
  return out;
}

std::vector<Conv*> conv_layers(Autoencoder& net) {
  std::vector<Conv*> out;
  for (auto& c : net.encoder) out.push_back(&c);
  for (auto& c : net.decoder) out.push_back(&c);
  return out;
}

namespace {

void append_parameters(const std::vector<Conv>& layers, std::vector<at::Tensor>& out) {
  for (const auto& c : layers) {
    out.push_back(c.weight);
    out.push_back(c.bias);
  }
}

}  // namespace

std::vector<at::Tensor> parameters(const Pdn& net) {
  std::vector<at::Tensor> out;
  append_parameters(net.layers, out);
  return out;
}

std::vector<at::Tensor> parameters(const Autoencoder& net) {
  std::vector<at::Tensor> out;
  append_parameters(net.encoder, out);
  append_parameters(net.decoder, out);
  return out;
}

at::Tensor to_unit_float(const at::Tensor& rgb_u8_nhwc) {
  return rgb_u8_nhwc.permute({0, 3, 1, 2}).to(at::kFloat).div_(255.0f);
}

at::Tensor imagenet_normalize(const at::Tensor& x) {
  const auto mean = at::tensor(at::ArrayRef<float>(kImageNetMean, 3)).view({1, 3, 1, 1});
  const auto std = at::tensor(at::ArrayRef<float>(kImageNetStd, 3)).view({1, 3, 1, 1});
  return (x - mean) / std;
}

}  // namespace efficientad::detail
