// Names, geometry and the torch-free model description.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

#include "common/text.h"
#include "model/architecture.h"
#include "model/container.h"
#include "efficientad/errors.h"
#include "efficientad/model.h"
#include "model/model_format.h"

namespace efficientad {

const char* variant_name(Variant variant) { return variant == Variant::Small ? "S" : "M"; }

Variant parse_variant(const std::string& text) {
  const std::string t = detail::lower(text);
  if (t == "s" || t == "small") return Variant::Small;
  if (t == "m" || t == "medium") return Variant::Medium;
  throw InvalidArgument("unknown variant '" + text + "': use S (small) or M (medium)");
}

int ModelGeometry::feature_width() const { return detail::pdn_output_side(variant, padding, input_width); }
int ModelGeometry::feature_height() const { return detail::pdn_output_side(variant, padding, input_height); }

int ModelGeometry::map_border_cells() const {
  // Without padding each side loses 4 cells of the 4-pixel grid (receptive field 33 px, first centre at 16 px);
  // padding them back with zeros makes the map cover the whole input, as the reference implementation does.
  return padding ? 0 : 4;
}

void validate_geometry(const ModelGeometry& g) {
  for (int side : {g.input_width, g.input_height}) {
    if (side < kMinInputSide || side > kMaxInputSide) {
      throw InvalidArgument("network input side " + std::to_string(side) + " is out of range: use " +
                            std::to_string(kMinInputSide) + " to " + std::to_string(kMaxInputSide) +
                            " pixels (the autoencoder needs at least 256)");
    }
  }
}

void aspect_preserving_input(double aspect, int64_t pixels, int& width, int& height) {
  if (!(aspect > 0) || pixels <= 0) {
    throw InvalidArgument("an aspect-preserving input needs a positive aspect ratio and pixel budget");
  }
  const auto side = [](double exact) { return std::clamp(int(std::lround(exact / 8)) * 8, kMinInputSide, kMaxInputSide); };
  double w = std::sqrt(double(pixels) * aspect), h = w / aspect;
  if (std::min(w, h) < kMinInputSide) {  // the short side at the minimum, the long one keeps the ratio
    w = aspect >= 1 ? kMinInputSide * aspect : kMinInputSide;
    h = aspect >= 1 ? kMinInputSide : kMinInputSide / aspect;
  }
  width = side(w);
  height = side(h);
}

ModelInfo read_model_info(const std::string& path) {
  const std::vector<uint8_t> bytes = detail::read_file_bytes(path);
  return detail::validate_model(detail::parse(bytes, path), bytes, path);
}

std::string describe_file(const std::string& path) {
  const std::vector<uint8_t> bytes = detail::read_file_bytes(path);
  const detail::Container c = detail::parse(bytes, path);
  if (c.value("kind", path) != detail::kKindTeacher) return describe(detail::validate_model(c, bytes, path));
  const Variant variant = detail::validate_teacher(c, path);
  return std::string("teacher file (for 'efficientad train --teacher')\n") + "variant:           EfficientAD-" +
         variant_name(variant) + "\n" + "origin:            " + c.value("origin", path) + "\n";
}

namespace {

std::string penalty_text(const Provenance& p) {
  if (p.penalty_images > 0) return std::to_string(p.penalty_images) + " natural images";
  return p.penalty_dead_leaves ? "dead-leaves images" : "off";
}

std::string scores_text(const ValidationScores& v) {
  std::ostringstream out;
  out << "mean " << v.mean << ", std " << v.stddev << ", max " << v.max;
  return out.str();
}

}  // namespace

std::string describe(const ModelInfo& info) {
  const auto& g = info.geometry;
  const auto& p = info.provenance;
  std::ostringstream out;
  out << "model id:          " << info.model_id << "\n"
      << "format version:    " << info.format_version << "\n"
      << "variant:           EfficientAD-" << variant_name(g.variant) << "\n"
      << "network input:     " << g.input_width << "x" << g.input_height << " (PDN padding "
      << (g.padding ? "on" : "off") << ", feature map " << g.feature_width() << "x" << g.feature_height() << ")\n"
      << "map quantiles:     local q_a=" << info.quantiles.st_a << " q_b=" << info.quantiles.st_b
      << ", global q_a=" << info.quantiles.ae_a << " q_b=" << info.quantiles.ae_b << "\n"
      << "threshold:         " << info.threshold << " (held-out normal scores: " << scores_text(info.validation)
      << ")\n";
  if (info.int8_threshold) {
    out << "int8 threshold:    " << *info.int8_threshold << " (fast mode on a CPU; its held-out scores: "
        << scores_text(info.int8_validation) << ")\n";
  } else {
    out << "int8 threshold:    none recorded (fast mode on a CPU uses the threshold above)\n";
  }
  out << "int8 decoder:      " << (info.int8_decoder ? "calibrated" : "not calibrated (a model of an earlier build: "
                                   "fast mode runs the float autoencoder; re-train for the int8 decoder)") << "\n";
  out
      << "teacher:           " << p.teacher_origin << (p.teacher_random ? "  [RANDOM: detection quality is limited]" : "")
      << "\n"
      << "training:          " << p.steps << " steps, " << p.train_images << " images (+" << p.validation_images
      << " held out), penalty " << penalty_text(p) << ", precision " << p.precision << ", seed " << p.seed
      << "\n"
      << "                   schedule " << (p.schedule.empty() ? "paper (not recorded)" : p.schedule) << ", "
      << p.train_seconds << " s, final loss " << p.final_loss << "\n"
      << "created:           " << p.created << " by gst-efficientad " << p.library_version << "\n";
  return out.str();
}

}  // namespace efficientad
