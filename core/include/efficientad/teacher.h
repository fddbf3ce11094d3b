// Pretrained teachers from elsewhere: PyTorch files of the widely used reference implementation.
#pragma once

#include <string>

#include "efficientad/model.h"

namespace efficientad {

struct ImportedTeacher {
  Variant variant = Variant::Small;
  int tensors = 0;  // weights and biases read
};

// Converts a PyTorch teacher into a teacher file for `train --teacher`: a `torch.save` zip archive of the state
// dict of an nn.Sequential PDN (keys "0.weight", "0.bias", "3.weight", ... as teacher_small.pth and
// teacher_medium.pth; a "module." prefix from DataParallel is accepted). The variant follows from the shapes.
// Every tensor is checked against paper Table 6 or 7 and for finiteness. Writes atomically. Throws ModelFileError
// naming the file and the problem (not a zip archive, a pickled module instead of a state dict, missing or extra
// layers, wrong shapes, NaN), IoError when the output cannot be written. `origin` (how the weights were made, e.g.
// a distillation's settings) is recorded in the teacher file before the source file's name.
ImportedTeacher import_pytorch_teacher(const std::string& pth_path, const std::string& output_path,
                                       const std::string& origin = "");

// The teacher this project ships for `variant` (models/teacher_s.efad, distilled here; see models/README.md), or ""
// when none ships for it. Looks in $EFFICIENTAD_TEACHER_DIR, then the source tree's models/ (uninstalled builds),
// then the installed data folder (<prefix>/share/efficientad).
std::string shipped_teacher_path(Variant variant);

// The teacher file that `--teacher` / the element's `teacher` property names: "" (a random teacher) for "random",
// the shipped teacher for "shipped", the shipped teacher where one ships for `variant` and otherwise "" for "auto"
// (the default: S gets the distilled teacher, M a random one), otherwise `teacher` itself (a file path). Throws
// InvalidArgument when "shipped" finds no teacher for `variant`, rather than training with a random teacher the
// user did not ask for.
std::string teacher_path_for(const std::string& teacher, Variant variant);
inline constexpr const char* kDefaultTeacher = "auto";

}  // namespace efficientad
