#include "model/model_file.h"

#include <cstdio>
#include <filesystem>

#include "model/checksum.h"
#include "model/container.h"
#include "efficientad/errors.h"
#include "model/model_format.h"

namespace efficientad::detail {

namespace {

TensorRecord to_record(const std::string& name, const at::Tensor& tensor) {
  at::Tensor t = tensor.detach().to(at::kFloat).contiguous();
  TensorRecord r{name, t.sizes().vec(), {}};
  r.values.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  return r;
}

at::Tensor from_record(const TensorRecord& r) {
  return at::from_blob(const_cast<float*>(r.values.data()), r.shape, at::kFloat).clone();
}

void store_convs(const std::vector<Conv>& layers, const std::string& prefix, Container& c) {
  for (const auto& layer : layers) {
    c.tensors.push_back(to_record(prefix + layer.spec.name + ".weight", layer.weight));
    c.tensors.push_back(to_record(prefix + layer.spec.name + ".bias", layer.bias));
  }
}

// Shapes were validated against the same architecture tables before this runs.
void load_convs(std::vector<Conv>& layers, const std::string& prefix, const Container& c, const std::string& source) {
  for (auto& layer : layers) {
    layer.weight = from_record(c.tensor(prefix + layer.spec.name + ".weight", source));
    layer.bias = from_record(c.tensor(prefix + layer.spec.name + ".bias", source));
  }
}

}  // namespace

LoadedModel load_model(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  const Container c = parse(bytes, path);
  LoadedModel m;
  m.info = validate_model(c, bytes, path);
  const ModelGeometry& g = m.info.geometry;
  Networks& n = m.nets;
  n.geometry = g;
  n.teacher = make_pdn(g.variant, kTeacherChannels, g.padding);
  n.student = make_pdn(g.variant, 2 * kTeacherChannels, g.padding);
  n.autoencoder = make_autoencoder(g);
  load_convs(n.teacher.layers, "teacher.", c, path);
  load_convs(n.student.layers, "student.", c, path);
  load_convs(n.autoencoder.encoder, "autoencoder.", c, path);
  load_convs(n.autoencoder.decoder, "autoencoder.", c, path);
  n.teacher_mean = from_record(c.tensor("teacher_mean", path));
  n.teacher_std = from_record(c.tensor("teacher_std", path));
  n.teacher_activation_max = from_record(c.tensor("teacher.activation_max", path));
  n.student_activation_max = from_record(c.tensor("student.activation_max", path));
  if (c.has_tensor(kDecoderActivationMax)) n.decoder_activation_max = from_record(c.tensor(kDecoderActivationMax, path));
  return m;
}

void save_model(const std::string& path, const Networks& n, const ModelInfo& info) {
  Container c;
  write_model_header(info, c);
  store_convs(n.teacher.layers, "teacher.", c);
  store_convs(n.student.layers, "student.", c);
  store_convs(n.autoencoder.encoder, "autoencoder.", c);
  store_convs(n.autoencoder.decoder, "autoencoder.", c);
  c.tensors.push_back(to_record("teacher_mean", n.teacher_mean));
  c.tensors.push_back(to_record("teacher_std", n.teacher_std));
  c.tensors.push_back(to_record("teacher.activation_max", n.teacher_activation_max));
  c.tensors.push_back(to_record("student.activation_max", n.student_activation_max));
  if (n.decoder_activation_max.defined()) c.tensors.push_back(to_record(kDecoderActivationMax, n.decoder_activation_max));
  write_container(path, c);
}

LoadedTeacher load_teacher(const std::string& path, Variant variant, bool padding) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  const Container c = parse(bytes, path);
  const Variant file_variant = validate_teacher(c, path);
  if (file_variant != variant) {
    throw ModelFileError(path + ": this is an EfficientAD-" + variant_name(file_variant) + " teacher but the model " +
                         "is EfficientAD-" + variant_name(variant) + "; pass --variant " + variant_name(file_variant) +
                         " or a matching teacher");
  }
  LoadedTeacher t;
  t.teacher = make_pdn(variant, kTeacherChannels, padding);
  load_convs(t.teacher.layers, "teacher.", c, path);
  t.origin = "file " + std::filesystem::path(path).filename().string() + " (id " + content_id(bytes) + ")";
  auto note = c.header.find("origin");
  if (note != c.header.end() && !note->second.empty()) t.origin += ": " + note->second;
  return t;
}

void save_teacher(const std::string& path, const Pdn& teacher, const std::string& origin_note) {
  Container c;
  c.header["kind"] = kKindTeacher;
  c.header["variant"] = variant_name(teacher.variant);
  c.header["origin"] = origin_note;
  store_convs(teacher.layers, "teacher.", c);
  write_container(path, c);
}

}  // namespace efficientad::detail
