#include <cstdio>

#include "args.h"
#include "commands.h"
#include "efficientad/model.h"

namespace efficientad::cli {

const char* const kInfoUsage =
    "usage: efficientad info MODEL|TEACHER\n"
    "\n"
    "Validates a model file completely and prints what it holds: variant, input size, quantiles, threshold and\n"
    "how it was trained. For a teacher file: its variant and how it was made.\n";

int info_command(const std::vector<std::string>& argv) {
  const Args args(argv, {}, {});
  if (args.positionals().size() != 1) throw UsageError("give exactly one model file");
  std::fputs(describe_file(args.positionals().front()).c_str(), stdout);
  return 0;
}

}  // namespace efficientad::cli
