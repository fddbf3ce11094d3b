// The schema of model and teacher files on top of the container: which header entries and tensors they hold.
#pragma once

#include <string>
#include <vector>

#include "model/architecture.h"
#include "model/container.h"
#include "efficientad/model.h"

namespace efficientad::detail {

constexpr const char* kKindModel = "model";
constexpr const char* kKindTeacher = "teacher";
constexpr const char* kDecoderActivationMax = "autoencoder.activation_max";  // optional: the int8 decoder's ranges

// Every tensor of a model file (teacher, student, autoencoder, teacher_mean, teacher_std) with its shape.
std::vector<TensorShape> model_tensor_shapes(const ModelGeometry& geometry);
// Every tensor of a teacher file.
std::vector<TensorShape> teacher_tensor_shapes(Variant variant);

// Fills the header of a model file from `info` (format_version and model_id are not stored: they are derived).
void write_model_header(const ModelInfo& info, Container& container);
// Validates a model container completely (header values, tensor names and shapes, statistics) and returns its
// description. `bytes` are the file's bytes, hashed into the model id. Throws ModelFileError.
ModelInfo validate_model(const Container& container, const std::vector<uint8_t>& bytes, const std::string& source);

// Validates a teacher container (kind, variant, tensors); returns its variant. Throws ModelFileError.
Variant validate_teacher(const Container& container, const std::string& source);

}  // namespace efficientad::detail
