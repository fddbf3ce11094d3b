#include <string>

#include "args.h"
#include "commands.h"
#include "training_cli.h"

namespace efficientad::cli {

const char* const kTrainUsage =
    "usage: efficientad train --data FOLDER [--data FOLDER ...] --output MODEL [options]\n"
    "\n"
    "Trains EfficientAD (paper Algorithm 1) on images of normal parts and writes one self-contained model file.\n"
    "\n"
    "  --data FOLDER          folder of normal images (PNG/JPEG/BMP/TIFF, any size, grey or colour); repeatable\n"
    "  --output MODEL         model file to write (written whole or not at all)\n";

int train_command(const std::vector<std::string>& argv) {
  std::set<std::string> options = kTrainingOptionNames;
  options.insert({"data", "output"});
  const Args args(argv, options, kTrainingFlagNames);
  if (!args.positionals().empty()) throw UsageError("unexpected argument '" + args.positionals().front() + "'");
  const std::vector<std::string> folders = args.all("data");
  if (folders.empty()) throw UsageError("give at least one --data FOLDER of normal images");
  const std::string output = args.get("output");
  if (output.empty()) throw UsageError("give --output MODEL");
  train_from_folders(folders, training_options_from(args), output, args.flag("quiet"));
  return 0;
}

}  // namespace efficientad::cli
