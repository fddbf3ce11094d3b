// Loading and saving the networks of a model or teacher file (the torch side of model_format.h).
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "efficientad/model.h"
#include "model/networks.h"

namespace efficientad::detail {

// Everything inference needs; one model file holds exactly this plus its ModelInfo.
struct Networks {
  ModelGeometry geometry;
  Pdn teacher, student;
  Autoencoder autoencoder;
  at::Tensor teacher_mean, teacher_std;  // per-channel statistics of the teacher's outputs, [384]
  // Largest activation (after ReLU) on training images of each channel of the hidden PDN layers, concatenated in
  // layer order, [sum of hidden channels]; models written before per-channel calibration hold one value per
  // hidden layer, [layers - 1]. The calibration of the 8-bit activations of the fast int8 path (activation_ranges()).
  at::Tensor teacher_activation_max, student_activation_max;
  // The same for the decoder's hidden layers (dec1..dec7), [7 x 64]: the int8 decoder's calibration. Undefined for
  // models written before it, whose fast mode runs the whole autoencoder in a float dtype.
  at::Tensor decoder_activation_max;
};

struct LoadedModel {
  ModelInfo info;
  Networks nets;
};

// Throws ModelFileError naming the file and the problem.
LoadedModel load_model(const std::string& path);
// Writes atomically. info.format_version and info.model_id are ignored (derived when reading).
void save_model(const std::string& path, const Networks& nets, const ModelInfo& info);

// A teacher file holds only teacher weights; padding is an inference choice and not part of the weights.
struct LoadedTeacher {
  Pdn teacher;
  std::string origin;  // "file <name> (id <hash>)"
};
// Throws ModelFileError, also when the file's variant differs from `variant`.
LoadedTeacher load_teacher(const std::string& path, Variant variant, bool padding);
void save_teacher(const std::string& path, const Pdn& teacher, const std::string& origin_note);

}  // namespace efficientad::detail
