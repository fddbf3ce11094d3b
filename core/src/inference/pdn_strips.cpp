#include "inference/pdn_strips.h"

#include <string>

#include "efficientad/errors.h"

namespace efficientad::detail {

namespace {

void check_unpadded(const ConvSpec& l) {
  if (l.padding != 0 || l.stride != 1) {
    throw InvalidArgument("PDN strips: layer " + l.name +
                          " has padding or a stride; strips need a PDN without padding");
  }
}

}  // namespace

RowRange pdn_input_rows(const std::vector<ConvSpec>& layers, RowRange out) {
  for (auto l = layers.rbegin(); l != layers.rend(); ++l) {  // backwards: each layer's output rows to its input rows
    check_unpadded(*l);
    if (l->avg_pool) out = {2 * out.begin, 2 * out.end};
    out.end += int(l->kernel) - 1;
  }
  return out;
}

std::vector<RowRange> split_rows(int rows, int parts) {
  std::vector<RowRange> ranges;
  for (int p = 0; p < parts; ++p) ranges.push_back({rows * p / parts, rows * (p + 1) / parts});
  return ranges;
}

Int8PdnStrips::Int8PdnStrips(const std::vector<Int8LayerWeights>& layers, int input_width, int input_height,
                             int strips, FirstLayer first_layer, SecondLayer second_layer)
    : width_(input_width), height_(input_height) {
  std::vector<ConvSpec> specs;
  for (const auto& l : layers) check_unpadded(l.spec), specs.push_back(l.spec);
  if (specs.empty()) throw InvalidArgument("PDN strips: no layers");
  out_width_ = pdn_output_side(specs, false, input_width);
  out_channels_ = specs.back().out_channels;
  out_height_ = pdn_output_side(specs, false, input_height);
  if (strips < 1 || strips > out_height_) {
    throw InvalidArgument("PDN strips: " + std::to_string(strips) + " strips of " + std::to_string(out_height_) +
                          " output rows");
  }
  for (const RowRange& output : split_rows(out_height_, strips)) {
    const RowRange input = pdn_input_rows(specs, output);
    if (input.end > input_height || pdn_output_side(specs, false, input.size()) != output.size()) {
      throw Error("PDN strips: rows " + std::to_string(input.begin) + "-" + std::to_string(input.end) +
                  " do not give output rows " + std::to_string(output.begin) + "-" + std::to_string(output.end));
    }
    auto network = std::make_unique<Int8Pdn>(layers, false, input_width, input.size(), first_layer, second_layer);
    pieces_.push_back({input, output, std::move(network)});
  }
}

Int8PdnStrips::~Int8PdnStrips() = default;

void Int8PdnStrips::run(int strip, const uint8_t* images, int count, float* out) const {
  const Piece& p = pieces_.at(size_t(strip));
  const size_t image_row = size_t(width_) * 3, map_row = size_t(out_width_) * size_t(out_channels_);
  for (int n = 0; n < count; ++n) {
    p.network->run(images + (size_t(n) * size_t(height_) + size_t(p.input.begin)) * image_row, 1,
                   out + (size_t(n) * size_t(out_height_) + size_t(p.output.begin)) * map_row);
  }
}

}  // namespace efficientad::detail
