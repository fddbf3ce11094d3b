#include <cstdio>

#include "args.h"
#include "commands.h"
#include "efficientad/teacher.h"

namespace efficientad::cli {

const char* const kImportTeacherUsage =
    "usage: efficientad import-teacher --output TEACHER [--origin TEXT] FILE.pth\n"
    "\n"
    "Converts a pretrained PyTorch teacher (teacher_small.pth / teacher_medium.pth of the widely used reference\n"
    "implementation, or any torch.save'd state dict of an nn.Sequential PDN) into a teacher file for\n"
    "'efficientad train --teacher TEACHER'. The variant (S or M) follows from the weights' shapes.\n"
    "\n"
    "  --output TEACHER       teacher file to write (written whole or not at all)\n"
    "  --origin TEXT          how the weights were made (one line), recorded in the teacher file and shown by the\n"
    "                         models trained from it ('efficientad info')\n";

int import_teacher_command(const std::vector<std::string>& argv) {
  const Args args(argv, {"output", "origin"}, {});
  if (args.positionals().size() != 1) throw UsageError("give exactly one .pth file");
  const std::string output = args.get("output");
  if (output.empty()) throw UsageError("give --output TEACHER");
  const ImportedTeacher t = import_pytorch_teacher(args.positionals().front(), output, args.get("origin", ""));
  std::printf("wrote %s: EfficientAD-%s teacher, %d tensors from %s\n", output.c_str(), variant_name(t.variant),
              t.tensors, args.positionals().front().c_str());
  return 0;
}

}  // namespace efficientad::cli
