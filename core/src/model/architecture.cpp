#include "model/architecture.h"

namespace efficientad::detail {

int pdn_pool_padding(bool padding) { return padding ? 1 : 0; }

std::vector<ConvSpec> pdn_layers(Variant variant, int64_t out, bool padding) {
  const int64_t p = padding ? 1 : 0;
  if (variant == Variant::Small) {  // Table 6
    return {
        {"conv1", 3, 128, 4, 1, 3 * p, true, true},
        {"conv2", 128, 256, 4, 1, 3 * p, true, true},
        {"conv3", 256, 256, 3, 1, 1 * p, true, false},
        {"conv4", 256, out, 4, 1, 0, false, false},
    };
  }
  return {  // Table 7
      {"conv1", 3, 256, 4, 1, 3 * p, true, true},
      {"conv2", 256, 512, 4, 1, 3 * p, true, true},
      {"conv3", 512, 512, 1, 1, 0, true, false},
      {"conv4", 512, 512, 3, 1, 1 * p, true, false},
      {"conv5", 512, out, 4, 1, 0, true, false},
      {"conv6", out, out, 1, 1, 0, false, false},
  };
}

std::vector<ConvSpec> encoder_layers() {
  return {
      {"enc1", 3, 32, 4, 2, 1, true, false},  {"enc2", 32, 32, 4, 2, 1, true, false},
      {"enc3", 32, 64, 4, 2, 1, true, false}, {"enc4", 64, 64, 4, 2, 1, true, false},
      {"enc5", 64, 64, 4, 2, 1, true, false}, {"enc6", 64, 64, 8, 1, 0, false, false},
  };
}

std::vector<ConvSpec> decoder_layers(int64_t out) {
  std::vector<ConvSpec> layers;
  for (int i = 1; i <= 6; ++i) layers.push_back({"dec" + std::to_string(i), 64, 64, 4, 1, 2, true, false});
  layers.push_back({"dec7", 64, 64, 3, 1, 1, true, false});
  layers.push_back({"dec8", 64, out, 3, 1, 1, false, false});
  return layers;
}

std::vector<int> decoder_upsample_sides(int s, int feature_side) {
  return {s / 64 - 1, s / 32, s / 16 - 1, s / 8, s / 4 - 1, s / 2 - 1, feature_side};
}

int64_t conv_output_side(const ConvSpec& l, int64_t input_side) {
  return (input_side + 2 * l.padding - l.kernel) / l.stride + 1;
}

int pdn_output_side(const std::vector<ConvSpec>& layers, bool padding, int side) {
  const int pool_pad = pdn_pool_padding(padding);
  for (const auto& l : layers) {
    side = int(conv_output_side(l, side));
    if (l.avg_pool) side = (side + 2 * pool_pad - 2) / 2 + 1;
  }
  return side;
}

int pdn_output_side(Variant variant, bool padding, int side) {
  return pdn_output_side(pdn_layers(variant, kTeacherChannels, padding), padding, side);
}

namespace {

struct PlaneSize {
  int64_t height, width;
};

// MACs of one convolution on an input plane; `in` becomes its output plane.
int64_t conv_macs(const ConvSpec& l, PlaneSize& in) {
  in.height = conv_output_side(l, in.height);
  in.width = conv_output_side(l, in.width);
  return in.height * in.width * l.out_channels * l.in_channels * l.kernel * l.kernel;
}

int64_t pdn_macs(Variant variant, int64_t out_channels, const ModelGeometry& g) {
  const int64_t pool_pad = pdn_pool_padding(g.padding);
  PlaneSize plane{g.input_height, g.input_width};
  int64_t macs = 0;
  for (const auto& l : pdn_layers(variant, out_channels, g.padding)) {
    macs += conv_macs(l, plane);
    if (l.avg_pool) plane = {(plane.height + 2 * pool_pad - 2) / 2 + 1, (plane.width + 2 * pool_pad - 2) / 2 + 1};
  }
  return macs;
}

int64_t autoencoder_macs(const ModelGeometry& g) {
  PlaneSize plane{g.input_height, g.input_width};
  int64_t macs = 0;
  for (const auto& l : encoder_layers()) macs += conv_macs(l, plane);
  return macs + decoder_macs_from(g, 0);
}

}  // namespace

int64_t decoder_macs_from(const ModelGeometry& g, size_t first_layer) {
  const std::vector<int> heights = decoder_upsample_sides(g.input_height, g.feature_height());
  const std::vector<int> widths = decoder_upsample_sides(g.input_width, g.feature_width());
  const std::vector<ConvSpec> decoder = decoder_layers(kTeacherChannels);
  PlaneSize plane{1, 1};  // the encoder's bottleneck
  int64_t macs = 0;
  for (size_t i = 0; i < decoder.size(); ++i) {
    if (i < heights.size()) plane = {heights[i], widths[i]};
    const int64_t layer = conv_macs(decoder[i], plane);  // also moves plane on to the layer's output
    if (i >= first_layer) macs += layer;
  }
  return macs;
}

NetworkMacs network_macs(const ModelGeometry& g) {
  return {pdn_macs(g.variant, kTeacherChannels, g), pdn_macs(g.variant, 2 * kTeacherChannels, g), autoencoder_macs(g)};
}

std::vector<TensorShape> conv_parameter_shapes(const std::vector<ConvSpec>& layers, const std::string& prefix) {
  std::vector<TensorShape> shapes;
  for (const auto& l : layers) {
    shapes.push_back({prefix + l.name + ".weight", {l.out_channels, l.in_channels, l.kernel, l.kernel}});
    shapes.push_back({prefix + l.name + ".bias", {l.out_channels}});
  }
  return shapes;
}

}  // namespace efficientad::detail
