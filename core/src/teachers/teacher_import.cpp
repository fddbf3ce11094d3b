// The reference implementation's PDN as an nn.Sequential state dict -> the PDN of paper Tables 6-7.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "model/container.h"
#include "common/file_read.h"
#include "common/text.h"
#include "efficientad/errors.h"
#include "efficientad/limits.h"
#include "efficientad/teacher.h"
#include "model/model_file.h"
#include "teachers/pytorch_state_dict.h"

namespace efficientad {

namespace {

using detail::kTeacherChannels;

std::string shape_text(const at::IntArrayRef& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void check_pytorch_zip(const std::string& path) {
  const std::vector<uint8_t> magic =
      detail::read_file_prefix<ModelFileError>(path, kMaxImportFileBytes, 4, "PyTorch file");
  if (magic.size() == 4 && std::memcmp(magic.data(), "PK\3\4", 4) == 0) return;
  throw ModelFileError(path + (magic[0] == 0x80 ? ": an old (pre-1.6, non-zip) torch.save file; load it in PyTorch "
                                                  "and save it again with torch.save(state_dict, path)"
                                                : ": not a PyTorch file (torch.save writes a zip archive)"));
}

// Layer index -> (weight, bias) of the nn.Sequential the state dict came from.
std::map<int, std::pair<at::Tensor, at::Tensor>> sequential_convs(const std::string& path) {
  std::map<int, std::pair<at::Tensor, at::Tensor>> convs;
  for (auto [key, tensor] : detail::read_pytorch_state_dict(path)) {
    for (const char* prefix : {"state_dict.", "model.", "teacher.", "module."}) {  // checkpoints, nn.DataParallel
      if (key.rfind(prefix, 0) == 0) key = key.substr(std::strlen(prefix));
    }
    const size_t dot = key.find('.');
    const std::string index = key.substr(0, dot), kind = dot == std::string::npos ? "" : key.substr(dot + 1);
    if (index.empty() || index.size() > 4 || index.find_first_not_of("0123456789") != std::string::npos ||
        (kind != "weight" && kind != "bias")) {
      throw ModelFileError(path + ": unexpected entry '" + detail::printable(key) + "'; a PDN teacher's keys are '<layer>.weight' and "
                           "'<layer>.bias' of an nn.Sequential");
    }
    auto& slot = convs[std::stoi(index)];
    (kind == "weight" ? slot.first : slot.second) = tensor;
  }
  return convs;
}

}  // namespace

ImportedTeacher import_pytorch_teacher(const std::string& pth_path, const std::string& output_path,
                                       const std::string& origin) {
  if (origin.find('\n') != std::string::npos) throw InvalidArgument("the origin must be one line of text");
  check_pytorch_zip(pth_path);
  const auto convs = sequential_convs(pth_path);
  ImportedTeacher result;
  if (convs.size() == 4) {
    result.variant = Variant::Small;
  } else if (convs.size() == 6) {
    result.variant = Variant::Medium;
  } else {
    throw ModelFileError(pth_path + ": holds " + std::to_string(convs.size()) + " layers with weights; an EfficientAD-S "
                         "teacher has 4 convolutions and an EfficientAD-M teacher 6 (paper Tables 6 and 7)");
  }
  detail::Pdn teacher = detail::make_pdn(result.variant, kTeacherChannels, false);
  auto layer = teacher.layers.begin();
  for (const auto& [index, tensors] : convs) {
    const detail::ConvSpec& spec = layer->spec;
    const std::vector<int64_t> weight_shape{spec.out_channels, spec.in_channels, spec.kernel, spec.kernel};
    for (const auto& [tensor, kind, shape] : {std::make_tuple(tensors.first, "weight", weight_shape),
                                              std::make_tuple(tensors.second, "bias", std::vector<int64_t>{spec.out_channels})}) {
      const std::string key = std::to_string(index) + "." + kind;
      if (!tensor.defined()) throw ModelFileError(pth_path + ": '" + key + "' is missing");
      if (tensor.sizes() != at::IntArrayRef(shape)) {
        throw ModelFileError(pth_path + ": '" + key + "' has shape " + shape_text(tensor.sizes()) + " but EfficientAD-" +
                             variant_name(result.variant) + " needs " + shape_text(shape) + " (" + spec.name + ")");
      }
      if (!tensor.is_floating_point() || !at::isfinite(tensor).all().item<bool>()) {
        throw ModelFileError(pth_path + ": '" + key + "' is not a finite floating-point tensor");
      }
      result.tensors++;
    }
    layer->weight = tensors.first.to(at::kFloat).contiguous().clone();
    layer->bias = tensors.second.to(at::kFloat).contiguous().clone();
    ++layer;
  }
  const std::string source = "imported from " + std::filesystem::path(pth_path).filename().string() + " (PyTorch state dict)";
  detail::save_teacher(output_path, teacher, origin.empty() ? source : origin + "; " + source);
  return result;
}

}  // namespace efficientad
