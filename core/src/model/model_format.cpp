#include "model/model_format.h"

#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "common/text.h"
#include "model/checksum.h"
#include "efficientad/errors.h"

namespace efficientad::detail {

namespace {

std::string format_float(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", v);
  return buffer;
}

// Strict number parsing: the whole value must be a number, else the file is reported corrupt.
double parse_number(const Container& c, const std::string& key, const std::string& source) {
  const std::string& text = c.value(key, source);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v)) {
    throw ModelFileError(source + ": header entry '" + key + "' is not a finite number ('" + printable(text) + "')");
  }
  return v;
}

// A number that stays finite as a float (1e39 would become infinity: a threshold no score ever exceeds).
float parse_float(const Container& c, const std::string& key, const std::string& source) {
  const double v = parse_number(c, key, source);
  if (std::fabs(v) > double(FLT_MAX)) {
    throw ModelFileError(source + ": header entry '" + key + "' is out of range (" + format_float(v) + ")");
  }
  return float(v);
}

// An integer in [min, max]: an input width of 4294967552 must not wrap around to 256.
int64_t parse_integer(const Container& c, const std::string& key, const std::string& source,
                      int64_t min = -(int64_t(1) << 53), int64_t max = int64_t(1) << 53) {
  double v = parse_number(c, key, source);
  if (v != std::floor(v)) throw ModelFileError(source + ": header entry '" + key + "' is not an integer");
  if (v < double(min) || v > double(max)) {
    throw ModelFileError(source + ": header entry '" + key + "' is out of range: " + printable(c.value(key, source)) + ", not in " +
                         std::to_string(min) + ".." + std::to_string(max));
  }
  return int64_t(v);
}

uint64_t parse_unsigned(const Container& c, const std::string& key, const std::string& source) {
  const std::string& text = c.value(key, source);
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text[0] == '-' || *end != '\0' || errno == ERANGE) {
    throw ModelFileError(source + ": header entry '" + key + "' is not an unsigned integer ('" + printable(text) + "')");
  }
  return v;
}

std::string optional_value(const Container& c, const std::string& key) {
  auto it = c.header.find(key);
  return it == c.header.end() ? std::string() : it->second;
}

// A threshold and the held-out scores it came from: PREFIXthreshold, PREFIXvalidation.{mean,stddev,max}.
void write_threshold(Container& c, const std::string& prefix, float threshold, const ValidationScores& v) {
  c.header[prefix + "threshold"] = format_float(threshold);
  c.header[prefix + "validation.mean"] = format_float(v.mean);
  c.header[prefix + "validation.stddev"] = format_float(v.stddev);
  c.header[prefix + "validation.max"] = format_float(v.max);
}

float parse_threshold(const Container& c, const std::string& prefix, const std::string& source, ValidationScores& v) {
  const float threshold = parse_float(c, prefix + "threshold", source);
  v.mean = parse_float(c, prefix + "validation.mean", source);
  v.stddev = parse_float(c, prefix + "validation.stddev", source);
  v.max = parse_float(c, prefix + "validation.max", source);
  return threshold;
}

Variant parse_file_variant(const Container& c, const std::string& source) {
  const std::string& text = c.value("variant", source);
  if (text == "S") return Variant::Small;
  if (text == "M") return Variant::Medium;
  throw ModelFileError(source + ": unknown variant '" + printable(text) + "' (expected S or M)");
}

void check_kind(const Container& c, const char* expected, const std::string& source) {
  const std::string& kind = c.value("kind", source);
  if (kind == expected) return;
  if (kind == kKindTeacher) {
    throw ModelFileError(source + ": this is a teacher file, not a trained model; pass it to 'efficientad train " +
                         "--teacher' and use the model that training writes");
  }
  if (kind == kKindModel) {
    throw ModelFileError(source + ": this is a trained model, not a teacher file");
  }
  throw ModelFileError(source + ": unknown file kind '" + printable(kind) + "'");
}

void check_tensors(const Container& c, const std::vector<TensorShape>& expected, const std::string& source,
                   const std::string& what) {
  std::set<std::string> wanted;
  for (const auto& e : expected) {
    wanted.insert(e.name);
    if (e.optional && !c.has_tensor(e.name)) continue;
    const TensorRecord& t = c.tensor(e.name, source);
    if (t.shape != e.shape && (e.older_shape.empty() || t.shape != e.older_shape)) {
      std::string got, want;
      for (auto d : t.shape) got += (got.empty() ? "" : "x") + std::to_string(d);
      for (auto d : e.shape) want += (want.empty() ? "" : "x") + std::to_string(d);
      throw ModelFileError(source + ": tensor '" + e.name + "' has shape " + got + " but " + what + " needs " + want +
                           " (a file of another variant or a damaged file)");
    }
  }
  for (const auto& t : c.tensors) {
    if (!wanted.count(t.name)) throw ModelFileError(source + ": unexpected tensor '" + t.name + "' in " + what);
  }
}

}  // namespace

namespace {

TensorShape activation_max_shape(const std::vector<ConvSpec>& layers, const std::string& name) {
  int64_t hidden_channels = 0;
  for (size_t i = 0; i + 1 < layers.size(); ++i) hidden_channels += layers[i].out_channels;
  return {name, {hidden_channels}, {int64_t(layers.size()) - 1}};
}

}  // namespace

std::vector<TensorShape> teacher_tensor_shapes(Variant variant) {
  return conv_parameter_shapes(pdn_layers(variant, kTeacherChannels, false), "teacher.");
}

std::vector<TensorShape> model_tensor_shapes(const ModelGeometry& g) {
  std::vector<TensorShape> shapes = teacher_tensor_shapes(g.variant);
  for (auto& s : conv_parameter_shapes(pdn_layers(g.variant, 2 * kTeacherChannels, false), "student.")) shapes.push_back(s);
  for (auto& s : conv_parameter_shapes(encoder_layers(), "autoencoder.")) shapes.push_back(s);
  for (auto& s : conv_parameter_shapes(decoder_layers(kTeacherChannels), "autoencoder.")) shapes.push_back(s);
  shapes.push_back({"teacher_mean", {kTeacherChannels}});
  shapes.push_back({"teacher_std", {kTeacherChannels}});
  // Per channel of the hidden layers; files before per-channel calibration hold one value per hidden layer.
  shapes.push_back(activation_max_shape(pdn_layers(g.variant, kTeacherChannels, false), "teacher.activation_max"));
  shapes.push_back(activation_max_shape(pdn_layers(g.variant, 2 * kTeacherChannels, false), "student.activation_max"));
  TensorShape decoder = activation_max_shape(decoder_layers(kTeacherChannels), kDecoderActivationMax);
  decoder.older_shape.clear();  // per channel from the start
  decoder.optional = true;      // files before the int8 decoder
  shapes.push_back(decoder);
  return shapes;
}

void write_model_header(const ModelInfo& info, Container& c) {
  const auto& g = info.geometry;
  const auto& p = info.provenance;
  auto& h = c.header;
  h["kind"] = kKindModel;
  h["variant"] = variant_name(g.variant);
  h["input_width"] = std::to_string(g.input_width);
  h["input_height"] = std::to_string(g.input_height);
  h["padding"] = g.padding ? "1" : "0";
  h["quantile.st_a"] = format_float(info.quantiles.st_a);
  h["quantile.st_b"] = format_float(info.quantiles.st_b);
  h["quantile.ae_a"] = format_float(info.quantiles.ae_a);
  h["quantile.ae_b"] = format_float(info.quantiles.ae_b);
  write_threshold(c, "", info.threshold, info.validation);
  if (info.int8_threshold) write_threshold(c, "int8.", *info.int8_threshold, info.int8_validation);
  h["provenance.steps"] = std::to_string(p.steps);
  h["provenance.train_images"] = std::to_string(p.train_images);
  h["provenance.validation_images"] = std::to_string(p.validation_images);
  h["provenance.penalty_images"] = std::to_string(p.penalty_images);
  h["provenance.penalty_dead_leaves"] = p.penalty_dead_leaves ? "1" : "0";
  h["provenance.teacher_origin"] = p.teacher_origin;
  h["provenance.teacher_random"] = p.teacher_random ? "1" : "0";
  h["provenance.precision"] = p.precision;
  h["provenance.schedule"] = p.schedule;
  h["provenance.seed"] = std::to_string(p.seed);
  h["provenance.created"] = p.created;
  h["provenance.library_version"] = p.library_version;
  h["provenance.train_seconds"] = format_float(p.train_seconds);
  h["provenance.final_loss"] = format_float(p.final_loss);
}

ModelInfo validate_model(const Container& c, const std::vector<uint8_t>& bytes, const std::string& source) {
  check_kind(c, kKindModel, source);
  ModelInfo info;
  info.format_version = c.version;
  info.model_id = content_id(bytes);

  auto& g = info.geometry;
  g.variant = parse_file_variant(c, source);
  g.input_width = int(parse_integer(c, "input_width", source, kMinInputSide, kMaxInputSide));
  g.input_height = int(parse_integer(c, "input_height", source, kMinInputSide, kMaxInputSide));
  g.padding = parse_integer(c, "padding", source, 0, 1) != 0;
  try {
    validate_geometry(g);
  } catch (const InvalidArgument& e) {
    throw ModelFileError(source + ": " + e.what());
  }
  check_tensors(c, model_tensor_shapes(g), source, std::string("an EfficientAD-") + variant_name(g.variant) + " model");

  for (const char* name : {"teacher_std", "teacher.activation_max", "student.activation_max", kDecoderActivationMax}) {
    if (!c.has_tensor(name)) continue;  // optional (check_tensors reported a missing required one)
    for (float s : c.tensor(name, source).values) {
      if (!(s > 0)) throw ModelFileError(source + ": " + name + " holds a non-positive value; re-train the model");
    }
  }
  auto& q = info.quantiles;
  q.st_a = parse_float(c, "quantile.st_a", source);
  q.st_b = parse_float(c, "quantile.st_b", source);
  q.ae_a = parse_float(c, "quantile.ae_a", source);
  q.ae_b = parse_float(c, "quantile.ae_b", source);
  if (!(q.st_b > q.st_a) || !(q.ae_b > q.ae_a)) {
    throw ModelFileError(source + ": map quantiles are degenerate (q_b <= q_a); re-train with more varied images");
  }
  info.threshold = parse_threshold(c, "", source, info.validation);
  if (c.header.count("int8.threshold")) info.int8_threshold = parse_threshold(c, "int8.", source, info.int8_validation);
  info.int8_decoder = c.has_tensor(kDecoderActivationMax);

  auto& p = info.provenance;
  p.steps = parse_integer(c, "provenance.steps", source);
  p.train_images = parse_integer(c, "provenance.train_images", source);
  p.validation_images = parse_integer(c, "provenance.validation_images", source);
  p.penalty_images = parse_integer(c, "provenance.penalty_images", source);
  // Absent in models of builds before dead leaves.
  p.penalty_dead_leaves = c.header.count("provenance.penalty_dead_leaves") &&
                          parse_integer(c, "provenance.penalty_dead_leaves", source, 0, 1) != 0;
  p.teacher_origin = c.value("provenance.teacher_origin", source);
  p.teacher_random = parse_integer(c, "provenance.teacher_random", source, 0, 1) != 0;
  p.precision = optional_value(c, "provenance.precision");
  p.schedule = optional_value(c, "provenance.schedule");
  p.seed = parse_unsigned(c, "provenance.seed", source);
  p.created = optional_value(c, "provenance.created");
  p.library_version = optional_value(c, "provenance.library_version");
  p.train_seconds = parse_number(c, "provenance.train_seconds", source);
  p.final_loss = parse_number(c, "provenance.final_loss", source);
  return info;
}

Variant validate_teacher(const Container& c, const std::string& source) {
  check_kind(c, kKindTeacher, source);
  Variant variant = parse_file_variant(c, source);
  check_tensors(c, teacher_tensor_shapes(variant), source,
                std::string("an EfficientAD-") + variant_name(variant) + " teacher");
  return variant;
}

}  // namespace efficientad::detail
