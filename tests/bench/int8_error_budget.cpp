// Where the fast mode's int8 error in the local (student-teacher) map comes from: the int8 PDNs simulated in
// fp32 with each source of rounding switched on or off (weights, the u8 activations a layer hands on, the u8
// rounding before a pool), per layer and per network, each variant's local map compared with the exact one.
//
//   int8_error_budget MODEL IMAGE...
//
// Prints, per variant, the relative error of the local map (|st - st_exact| / |st_exact| over all cells) and the
// relative change of its mean; first that of oneDNN's int8 maps, which the "as fast mode" row simulates (oneDNN
// rounds a little differently: compare the rows with each other, not with it). Models without PDN padding only.
#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "image/image_ops.h"
#include "image/image_tensors.h"
#include "inference/int8_pdn.h"
#include "inference/map_computer.h"
#include "model/model_file.h"
#include "model/networks.h"

using namespace efficientad;
using namespace efficientad::detail;

namespace {

at::Tensor to_u8_steps(const at::Tensor& x, const at::Tensor& units) {
  const at::Tensor u = units.view({1, -1, 1, 1});
  return (x / u).round().clamp(0, 255) * u;
}

// Which roundings a simulated PDN applies: bit i of a mask = layer i. The defaults are what fast mode does for
// the teacher (its first layer is fp32; its first two layers pool before rounding and hand on a remainder, see
// int8_pdn.cpp).
struct Rounding {
  unsigned weights = ~1u, handed_on = ~0u, before_pool = ~3u, remainder = 3u;
};
const Rounding kFastTeacher, kFastStudent{~0u, ~0u, ~0u, 0u};

// Layer i's hand-off: u8 steps of `units`; with `remainder` channels, those round down and their remainder in
// finer steps follows as extra channels (FirstLayer::Fp32WithRemainder).
at::Tensor handed_on(const at::Tensor& x, const at::Tensor& units, const at::Tensor& remainder) {
  if (!remainder.defined()) return to_u8_steps(x, units);
  const at::Tensor u = units.view({1, -1, 1, 1});
  const at::Tensor steps = (x / u).clamp_min(0);
  at::Tensor whole = steps.round();
  whole.index_copy_(1, remainder, steps.index_select(1, remainder).floor());
  whole = whole.clamp_max(255);
  const at::Tensor fine = ((steps.index_select(1, remainder) - whole.index_select(1, remainder)) * kRemainderSteps)
                              .round()
                              .clamp_max(255) /
                          kRemainderSteps;
  return at::cat({whole, fine}, 1) * at::cat({units, units.index_select(0, remainder)}).view({1, -1, 1, 1});
}

// w rounded per output channel to 127 steps of its largest magnitude, after the input channels' units are folded
// in (what quantise() in int8_pdn.cpp does), then unfolded again: the weight the int8 convolution really uses.
at::Tensor rounded_weights(const at::Tensor& w, const at::Tensor& input_units) {
  const at::Tensor folded = w * input_units.view({1, -1, 1, 1});
  const at::Tensor step = (folded.abs().amax({1, 2, 3}, true) / 127.0f).clamp_min(1e-30f);
  return (folded / step).round().clamp(-127, 127) * step / input_units.view({1, -1, 1, 1});
}

// The PDN on ImageNet-normalised images with the int8 path's roundings where `r` asks for them.
at::Tensor simulated_pdn(const Pdn& net, const std::vector<std::vector<float>>& ranges, const at::Tensor& x_in,
                         const Rounding& r) {
  at::Tensor x = x_in;
  at::Tensor remainder;  // the channels of x that arrive a second time (undefined: none)
  // The first layer reads raw pixels: its input unit is one pixel step in normalised units, 1 / (255 std).
  at::Tensor input_units = 1.0f / (255.0f * at::tensor(std::vector<float>(kImageNetStd, kImageNetStd + 3)));
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Conv& layer = net.layers[i];
    Conv used = layer;
    if (remainder.defined()) {  // the extra input channels read the same weights
      used.weight = at::cat({layer.weight, layer.weight.index_select(1, remainder)}, 1);
      input_units = at::cat({input_units, input_units.index_select(0, remainder) / kRemainderSteps});
    }
    if (r.weights >> i & 1) used.weight = rounded_weights(used.weight, input_units);
    x = used(x);
    if (i + 1 == net.layers.size()) break;
    x = at::relu(x);
    const at::Tensor units = at::tensor(ranges[i]) / 255.0f;
    if (layer.spec.avg_pool) {
      if (r.before_pool >> i & 1) x = to_u8_steps(x, units);
      x = at::avg_pool2d(x, {2, 2}, {2, 2}, {0, 0});
    }
    remainder = at::Tensor();
    if ((r.remainder >> i & 1) && (r.handed_on >> i & 1)) {
      const Int8LayerWeights next{net.layers[i + 1].spec, values_of(net.layers[i + 1].weight), {}, {}};
      const int count = i == 0 ? kRemainderChannels : kSecondLayerRemainderChannels;  // as fast mode hands on
      remainder = at::tensor(channels_with_remainder(next, values_of(units), count), at::kLong);
    }
    if (r.handed_on >> i & 1) x = handed_on(x, units, remainder);
    input_units = units;
  }
  return x;
}

at::Tensor local_map(const at::Tensor& teacher_normalised, const at::Tensor& student) {
  return (teacher_normalised - student.narrow(1, 0, teacher_normalised.size(1))).pow(2).mean(1);
}

void print_row(const char* name, const at::Tensor& st, const at::Tensor& exact) {
  const double rel = ((st - exact).norm() / exact.norm()).item<double>();
  const double mean_change = (st.mean() / exact.mean()).item<double>() - 1.0;
  std::printf("%-44s %10.4f %+11.4f\n", name, rel, mean_change);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
    return 2;
  }
  try {
    at::NoGradGuard no_grad;
    const LoadedModel m = load_model(argv[1]);
    const Networks& nets = m.nets;
    const ModelGeometry& g = m.info.geometry;
    if (g.padding) throw InvalidArgument("models with PDN padding are not simulated");
    std::vector<Image> inputs;
    std::vector<const uint8_t*> pixels;
    for (int i = 2; i < argc; ++i) {
      const Image image = load_image(argv[i]);
      inputs.push_back(to_network_input(image.view(), g.input_width, g.input_height));
      pixels.push_back(inputs.back().data());
    }
    const at::Tensor batch = pack_batch(pixels, g.input_width, g.input_height);
    const at::Tensor x = imagenet_normalize(to_unit_float(batch).contiguous());
    const at::Tensor mean = nets.teacher_mean.view({1, -1, 1, 1}), std = nets.teacher_std.view({1, -1, 1, 1});
    const auto normalise = [&](const at::Tensor& t) { return (t - mean) / std; };
    const auto teacher_ranges = activation_ranges(nets.teacher, nets.teacher_activation_max);
    const auto student_ranges = activation_ranges(nets.student, nets.student_activation_max);

    const at::Tensor exact = reference_maps(nets, batch).st;
    const MapComputer fast(nets, Mode::Fast, Device::Cpu);
    if (!fast.runs_int8()) throw Error("this build has no int8 path");

    std::printf("%zu images, exact local map mean %.4f\n", inputs.size(), exact.mean().item<double>());
    std::printf("%-44s %10s %11s\n", "variant", "rel. error", "mean change");
    print_row("oneDNN int8 (fast mode)", fast.compute(batch).st, exact);
    const auto simulated = [&](const Rounding& teacher, const Rounding& student) {
      return local_map(normalise(simulated_pdn(nets.teacher, teacher_ranges, x, teacher)),
                       simulated_pdn(nets.student, student_ranges, x, student));
    };
    const Rounding none{0, 0, 0, 0}, everything{~0u, ~0u, ~0u, 0u};
    const unsigned w = kFastTeacher.weights;
    print_row("as fast mode (simulated)", simulated(kFastTeacher, kFastStudent), exact);
    print_row("teacher without the layer-2 remainder", simulated({w, ~0u, ~3u, 1u}, kFastStudent), exact);
    print_row("  ... and layer 2 rounded before its pool", simulated({w, ~0u, ~1u, 1u}, kFastStudent), exact);
    print_row("  ... and without the layer-1 remainder", simulated({w, ~0u, ~1u, 0u}, kFastStudent), exact);
    print_row("teacher with a layer-3 remainder too", simulated({w, ~0u, ~3u, 7u}, kFastStudent), exact);
    print_row("every weight rounded (int8 first layers)", simulated(everything, everything), exact);
    print_row("teacher rounded only", simulated(kFastTeacher, none), exact);
    print_row("student rounded only", simulated(none, kFastStudent), exact);
    const Rounding weights_only{kFastTeacher.weights, 0, 0, 0};
    const Rounding activations_only{0, kFastTeacher.handed_on, kFastTeacher.before_pool, kFastTeacher.remainder};
    print_row("weights only", simulated(weights_only, weights_only), exact);
    print_row("activations only", simulated(activations_only, activations_only), exact);
    for (size_t i = 0; i < nets.teacher.layers.size(); ++i) {
      const unsigned bit = 1u << i;
      const auto without = [&](Rounding r, unsigned Rounding::*field) {
        r.*field &= ~bit;
        return simulated(r, r);
      };  // the student then rounds as the teacher does: its own rounding is ~0.003 of the map (see above)
      const std::string layer = " of layer " + std::to_string(i + 1);
      if (kFastTeacher.weights & bit) {
        print_row(("all but weights" + layer).c_str(), without(kFastTeacher, &Rounding::weights), exact);
      }
      if (i + 1 < nets.teacher.layers.size()) {
        print_row(("all but activations" + layer).c_str(), without(kFastTeacher, &Rounding::handed_on), exact);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
