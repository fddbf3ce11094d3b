#include "inference/map_computer.h"

#include <algorithm>
#include <functional>

#include "common/cpu_threads.h"
#include "common/device.h"
#include "efficientad/errors.h"
#include "inference/int8_decoder.h"
#include "inference/int8_pdn.h"
#include "inference/pdn_strips.h"

namespace efficientad::detail {

namespace {

// Output strips per network when the cores are shared (pdn_strips.h): 1 / 2 / 3 / 4 took 104.1 / 101.1 / 106.6 /
// 107.8 ms for S with one of two cores busy (more strips, more overlap between their input bands).
constexpr int kStripsPerNetwork = 2;

// Output channels of every layer but the last: the hidden layers an int8 network hands on as u8.
std::vector<int64_t> hidden_layer_channels(const std::vector<Conv>& layers) {
  std::vector<int64_t> channels;
  for (size_t i = 0; i + 1 < layers.size(); ++i) channels.push_back(layers[i].spec.out_channels);
  return channels;
}

// Mean over channels of the squared difference: the anomaly maps of Algorithm 2, lines 4-6.
at::Tensor channel_mean_squared_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).pow_(2).mean(1);
}

void to_layout(std::vector<Conv>& layers, at::ScalarType dtype, at::Device device) {
  for (auto& c : layers) {
    c.weight = c.weight.detach().to(device, dtype).contiguous(at::MemoryFormat::ChannelsLast);
    c.bias = c.bias.detach().to(device, dtype);
  }
}

at::Tensor imagenet(const float (&values)[3]) { return at::tensor(at::ArrayRef<float>(values, 3)).view({1, 3, 1, 1}); }

// conv(W, (x - m) / s) == conv(W / s, x - m): the division moves into the weights. Zero padding of x - m is
// zero padding of the normalised image, so this stays exact with PDN padding on.
void fold_input_std(Conv& first) { first.weight = first.weight / imagenet(kImageNetStd); }

// For raw pixels p in [0, 255]: conv(W, (p / 255 - m) / s) == conv(W / (255 s), p) - sum(W m / s) + b.
void fold_raw_pixel_normalisation(Conv& first) {
  const at::Tensor scaled = first.weight / imagenet(kImageNetStd);
  first.bias = first.bias - (scaled * imagenet(kImageNetMean)).sum({1, 2, 3});
  first.weight = scaled / 255.0f;
}

// (conv(W, x) + b - mu) / sigma == conv(W / sigma, x) + (b - mu) / sigma.
void fold_teacher_statistics(Conv& last, const at::Tensor& mean, const at::Tensor& std) {
  last.weight = last.weight / std.view({-1, 1, 1, 1});
  last.bias = (last.bias - mean) / std;
}

}  // namespace

std::vector<float> values_of(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

std::vector<std::vector<float>> activation_ranges(const std::vector<int64_t>& hidden_channels,
                                                  const at::Tensor& activation_max) {
  const std::vector<float> maxima = values_of(activation_max);
  const size_t hidden = hidden_channels.size();
  size_t channels = 0;
  for (int64_t c : hidden_channels) channels += size_t(c);
  const bool per_layer = maxima.size() == hidden;
  if (!per_layer && maxima.size() != channels) {
    throw InvalidArgument("int8 network: " + std::to_string(maxima.size()) + " activation maxima for " +
                          std::to_string(hidden) + " hidden layers of " + std::to_string(channels) + " channels");
  }
  std::vector<std::vector<float>> ranges;
  for (size_t i = 0, first = 0; i < hidden; ++i) {
    const auto oc = size_t(hidden_channels[i]);
    if (per_layer) {
      ranges.emplace_back(oc, kActivationHeadroom * maxima[i]);
      continue;
    }
    const float layer_max = *std::max_element(maxima.begin() + long(first), maxima.begin() + long(first + oc));
    const float floor = kQuietChannelFloor * layer_max;
    std::vector<float> r(oc);
    for (size_t o = 0; o < oc; ++o) r[o] = kActivationHeadroom * std::max(maxima[first + o], floor);
    ranges.push_back(std::move(r));
    first += oc;
  }
  return ranges;
}

std::vector<std::vector<float>> activation_ranges(const Pdn& net, const at::Tensor& activation_max) {
  return activation_ranges(hidden_layer_channels(net.layers), activation_max);
}

std::vector<Int8LayerWeights> int8_layers(Pdn net, const at::Tensor& activation_max) {
  at::NoGradGuard no_grad;
  std::vector<std::vector<float>> ranges = activation_ranges(net, activation_max);
  fold_raw_pixel_normalisation(net.layers.front());
  std::vector<Int8LayerWeights> layers;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Conv& c = net.layers[i];
    layers.push_back({c.spec, values_of(c.weight), values_of(c.bias), i < ranges.size() ? ranges[i] : std::vector<float>{}});
  }
  return layers;
}

at::Tensor hidden_activation_max(const Pdn& net, const at::Tensor& normalised_images) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> maxima;
  at::Tensor x = normalised_images;
  for (size_t i = 0; i + 1 < net.layers.size(); ++i) {
    const Conv& layer = net.layers[i];
    x = at::relu(layer(x));
    maxima.push_back(x.amax({0, 2, 3}).to(at::kFloat).clamp_min(1e-6f));  // a dead channel stays valid
    if (layer.spec.avg_pool) {
      const int64_t p = pdn_pool_padding(net.padding);
      x = at::avg_pool2d(x, {2, 2}, {2, 2}, {p, p});
    }
  }
  return at::cat(maxima);
}

at::Tensor decoder_activation_max(const Autoencoder& net, const at::Tensor& normalised_images) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> maxima;
  at::Tensor x = net.encode(normalised_images);
  for (size_t i = 0; i + 1 < net.decoder.size(); ++i) {
    x = net.decode_layer(i, x);
    maxima.push_back(x.amax({0, 2, 3}).to(at::kFloat).clamp_min(1e-6f));  // a dead channel stays valid
  }
  return at::cat(maxima);
}

bool MapComputer::uses_int8(Mode mode, Device device) {
  return mode == Mode::Fast && device == Device::Cpu && Int8Pdn::available();
}

namespace {

at::ScalarType default_fast_float_dtype(const at::Device& device) {
  if (device.is_cuda()) return at::kHalf;  // the paper times EfficientAD in float16 on GPUs
  return cpu_bf16_outruns_fp32() ? at::kBFloat16 : at::kFloat;
}

}  // namespace

std::unique_ptr<Int8Decoder> int8_decoder(const Autoencoder& net, const at::Tensor& activation_max) {
  const std::vector<std::vector<float>> ranges = activation_ranges(hidden_layer_channels(net.decoder), activation_max);
  const size_t first = kInt8DecoderFirstLayer;
  std::vector<Int8LayerWeights> layers;
  std::vector<DecoderResize> resizes;
  for (size_t i = first; i < net.decoder.size(); ++i) {
    const Conv& c = net.decoder[i];
    layers.push_back({c.spec, values_of(c.weight), values_of(c.bias), i < ranges.size() ? ranges[i] : std::vector<float>{}});
    const bool resized = i < net.upsample_heights.size();
    resizes.push_back(resized ? DecoderResize{net.upsample_heights[i], net.upsample_widths[i]} : DecoderResize{});
  }
  const ConvSpec& before = net.decoder.at(first - 1).spec;  // the input is its output
  const auto width = int(conv_output_side(before, net.upsample_widths.at(first - 1)));
  const auto height = int(conv_output_side(before, net.upsample_heights.at(first - 1)));
  return std::make_unique<Int8Decoder>(layers, resizes, ranges.at(first - 1), width, height);
}

MapComputer::MapComputer(const Networks& nets, Mode mode, Device device, std::optional<at::ScalarType> fast_float_dtype,
                         Convolutions convolutions, FastAutoencoder autoencoder)
    : mode_(mode), device_(torch_device(device)), nets_(nets) {
  at::NoGradGuard no_grad;
  dtype_ = mode == Mode::Exact ? at::kFloat : fast_float_dtype.value_or(default_fast_float_dtype(device_));
  precision_ = dtype_ == at::kFloat ? "fp32" : dtype_ == at::kHalf ? "fp16" : "bf16";

  if (mode == Mode::Fast) {
    fold_teacher_statistics(nets_.teacher.layers.back(), nets_.teacher_mean, nets_.teacher_std);
    if (uses_int8(mode, device)) {
      const ModelGeometry& g = nets.geometry;
      const auto teacher = int8_layers(nets_.teacher, nets.teacher_activation_max);
      const auto student = int8_layers(nets_.student, nets.student_activation_max);
      // The teacher's first two hand-offs keep their rounding remainders; the student's int8 error is ~1/10 of
      // the teacher's (tests/bench/int8_error_budget.cpp).
      const auto t1 = FirstLayer::Fp32WithRemainder, s1 = FirstLayer::Int8;
      const auto t2 = SecondLayer::Int8WithRemainder, s2 = SecondLayer::Int8;
      teacher_int8_ = std::make_unique<Int8Pdn>(teacher, g.padding, g.input_width, g.input_height, t1, t2);
      student_int8_ = std::make_unique<Int8Pdn>(student, g.padding, g.input_width, g.input_height, s1, s2);
      if (!g.padding) {  // oneDNN primitives are built at a strip's first run: only cores shared ever pay for them
        teacher_strips_ = std::make_unique<Int8PdnStrips>(teacher, g.input_width, g.input_height, kStripsPerNetwork,
                                                          t1, t2);
        student_strips_ = std::make_unique<Int8PdnStrips>(student, g.input_width, g.input_height, kStripsPerNetwork,
                                                          s1, s2);
      }
      if (autoencoder == FastAutoencoder::Int8 && nets.decoder_activation_max.defined()) {
        decoder_int8_ = int8_decoder(nets_.autoencoder, nets.decoder_activation_max);
        precision_ = "int8 T/S + AE decoder (oneDNN) + " + precision_ + " AE encoder";
      } else {
        precision_ = "int8 T/S (oneDNN) + " + precision_ + " AE";
      }
    }
    fold_input_std(nets_.teacher.layers.front());
    fold_input_std(nets_.student.layers.front());
    fold_input_std(nets_.autoencoder.encoder.front());
  }
  if (!teacher_int8_) {  // else only the autoencoder runs through LibTorch
    to_layout(nets_.teacher.layers, dtype_, device_);
    to_layout(nets_.student.layers, dtype_, device_);
  }
  to_layout(nets_.autoencoder.encoder, dtype_, device_);
  to_layout(nets_.autoencoder.decoder, dtype_, device_);
  if (convolutions == Convolutions::Winograd && device_.is_cpu() && dtype_ == at::kFloat) {
    std::vector<std::vector<Conv>*> fp32_layers = {&nets_.autoencoder.encoder, &nets_.autoencoder.decoder};
    if (!teacher_int8_) fp32_layers.insert(fp32_layers.end(), {&nets_.teacher.layers, &nets_.student.layers});
    for (auto* layers : fp32_layers) winograd_ |= attach_winograd(*layers);
    if (winograd_) precision_ += " (Winograd)";
  }
  nets_.teacher_mean = nets_.teacher_mean.to(device_).view({1, -1, 1, 1});
  nets_.teacher_std = nets_.teacher_std.to(device_).view({1, -1, 1, 1});
}

MapComputer::~MapComputer() = default;

namespace {

// One task per strip, each filling its rows of `out` for every image of `pixels`.
std::vector<std::function<void()>> strip_tasks(const Int8PdnStrips& strips, const at::Tensor& pixels,
                                               const at::Tensor& out) {
  std::vector<std::function<void()>> tasks;
  for (int s = 0; s < strips.strips(); ++s) {
    tasks.push_back([&strips, &pixels, &out, s] {
      strips.run(s, pixels.data_ptr<uint8_t>(), int(pixels.size(0)), out.data_ptr<float>());
    });
  }
  return tasks;
}

}  // namespace

at::Tensor MapComputer::autoencoder_features(const at::Tensor& pixels) const {
  at::NoGradGuard no_grad;  // per thread: also on a side-by-side task's
  const at::Tensor x =
      (to_unit_float(pixels) - imagenet(kImageNetMean)).to(dtype_).contiguous(at::MemoryFormat::ChannelsLast);
  if (!decoder_int8_) return nets_.autoencoder.forward(x, false).to(at::kFloat).permute({0, 2, 3, 1});
  at::Tensor head = nets_.autoencoder.encode(x);
  for (size_t i = 0; i < kInt8DecoderFirstLayer; ++i) head = nets_.autoencoder.decode_layer(i, head);
  head = head.to(at::kFloat).permute({0, 2, 3, 1}).contiguous();  // NHWC
  const ModelGeometry& g = nets_.geometry;
  at::Tensor out = at::empty({x.size(0), g.feature_height(), g.feature_width(), kTeacherChannels});
  decoder_int8_->run(head.data_ptr<float>(), int(x.size(0)), out.data_ptr<float>());
  return out;
}

RawMaps MapComputer::compute_int8(const at::Tensor& rgb_u8_nhwc, int side_by_side_threads) const {
  at::NoGradGuard no_grad;
  const at::Tensor pixels = rgb_u8_nhwc.contiguous();
  const int count = int(pixels.size(0));
  const int64_t c = kTeacherChannels, h = nets_.geometry.feature_height(), w = nets_.geometry.feature_width();
  const at::Tensor teacher = at::empty({count, h, w, c}), student = at::empty({count, h, w, 2 * c});
  at::Tensor autoencoder;
  if (side_by_side_threads > 1 && teacher_strips_) {  // the largest tasks first: the last ones handed out are short
    std::vector<std::function<void()>> tasks = strip_tasks(*student_strips_, pixels, student);
    for (auto& task : strip_tasks(*teacher_strips_, pixels, teacher)) tasks.push_back(std::move(task));
    tasks.push_back([&] { autoencoder = autoencoder_features(pixels); });
    run_side_by_side(tasks, side_by_side_threads);
  } else {
    teacher_int8_->run(pixels.data_ptr<uint8_t>(), count, teacher.data_ptr<float>());
    student_int8_->run(pixels.data_ptr<uint8_t>(), count, student.data_ptr<float>());
    autoencoder = autoencoder_features(pixels);
  }
  RawMaps maps;  // channels are the last dimension here
  maps.st = (teacher - student.narrow(3, 0, c)).pow_(2).mean(3).contiguous();
  maps.ae = (autoencoder - student.narrow(3, c, c)).pow_(2).mean(3).contiguous();
  return maps;
}

Passes plan_passes(int64_t count, int64_t most) {
  if (count < 1 || most < 1) {
    throw InvalidArgument("plan_passes: " + std::to_string(count) + " images in passes of at most " +
                          std::to_string(most) + ": both must be at least 1");
  }
  const int64_t passes = (count + most - 1) / most;
  Passes plan{(count + passes - 1) / passes, {}};
  for (int64_t i = 0; i + 1 < passes; ++i) plan.starts.push_back(i * plan.size);
  plan.starts.push_back(count - plan.size);
  return plan;
}

int64_t images_per_pass(const Networks& nets) {
  const ModelGeometry& g = nets.geometry;
  const int64_t channels = nets.teacher.layers.empty() ? 1 : nets.teacher.layers.front().spec.out_channels;
  // The first layer's fp32 output and the next step's copy of it.
  const int64_t bytes_per_image = int64_t(g.input_width) * g.input_height * channels * int64_t(sizeof(float)) * 2;
  return std::max<int64_t>(1, kPassActivationBytes / bytes_per_image);
}

RawMaps MapComputer::compute(const at::Tensor& rgb_u8_nhwc, int side_by_side_threads) const {
  const Passes passes = plan_passes(rgb_u8_nhwc.size(0), images_per_pass());
  if (passes.starts.size() == 1) return compute_pass(rgb_u8_nhwc, side_by_side_threads);
  std::vector<at::Tensor> st, ae;
  int64_t done = 0;  // images whose maps are kept
  for (const int64_t start : passes.starts) {
    const RawMaps maps = compute_pass(rgb_u8_nhwc.narrow(0, start, passes.size), side_by_side_threads);
    const int64_t again = done - start;  // images of the pass before, recomputed
    st.push_back(maps.st.narrow(0, again, passes.size - again));
    ae.push_back(maps.ae.narrow(0, again, passes.size - again));
    done = start + passes.size;
  }
  return RawMaps{at::cat(st), at::cat(ae)};
}

RawMaps MapComputer::compute_pass(const at::Tensor& rgb_u8_nhwc, int side_by_side_threads) const {
  if (teacher_int8_) return compute_int8(rgb_u8_nhwc, side_by_side_threads);
  at::NoGradGuard no_grad;
  at::Tensor x = to_unit_float(rgb_u8_nhwc.to(device_));  // channels-last view of NHWC
  const int64_t c = kTeacherChannels;
  at::Tensor teacher, student, autoencoder;
  if (mode_ == Mode::Exact) {
    x = imagenet_normalize(x).contiguous(at::MemoryFormat::ChannelsLast);
    teacher = (nets_.teacher.forward(x) - nets_.teacher_mean) / nets_.teacher_std;
    student = nets_.student.forward(x);
    autoencoder = nets_.autoencoder.forward(x, false);
  } else {
    x = (x - imagenet(kImageNetMean).to(device_)).to(dtype_).contiguous(at::MemoryFormat::ChannelsLast);
    teacher = nets_.teacher.forward(x).to(at::kFloat);  // already normalised by the folded weights
    student = nets_.student.forward(x).to(at::kFloat);
    autoencoder = nets_.autoencoder.forward(x, false).to(at::kFloat);
  }
  RawMaps maps;
  maps.st = channel_mean_squared_difference(teacher, student.narrow(1, 0, c)).to(at::kCPU).contiguous();
  maps.ae = channel_mean_squared_difference(autoencoder, student.narrow(1, c, c)).to(at::kCPU).contiguous();
  return maps;
}

RawMaps reference_maps(const Networks& nets, const at::Tensor& rgb_u8_nhwc) {
  at::NoGradGuard no_grad;
  const at::Tensor x = imagenet_normalize(to_unit_float(rgb_u8_nhwc).contiguous());
  at::Tensor teacher = nets.teacher.forward(x);
  teacher = (teacher - nets.teacher_mean.view({1, -1, 1, 1})) / nets.teacher_std.view({1, -1, 1, 1});
  const at::Tensor student = nets.student.forward(x);
  const at::Tensor autoencoder = nets.autoencoder.forward(x, false);
  const int64_t c = kTeacherChannels;
  return RawMaps{channel_mean_squared_difference(teacher, student.narrow(1, 0, c)).contiguous(),
                 channel_mean_squared_difference(autoencoder, student.narrow(1, c, c)).contiguous()};
}

}  // namespace efficientad::detail
