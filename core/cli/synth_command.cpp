#include <cstdio>

#include "args.h"
#include "commands.h"
#include "efficientad/synthetic.h"

namespace efficientad::cli {

const char* const kSynthUsage =
    "usage: efficientad synth --output FOLDER [options]\n"
    "\n"
    "Renders the demonstration dataset, machined washers on a conveyor belt, in MVTec AD layout: train/good,\n"
    "test/good, test/<defect> and ground_truth/<defect>/*_mask.png. Defects: scratch, crack, spot, chip,\n"
    "missing_hole.\n"
    "\n"
    "  --output FOLDER        where to write (created)\n"
    "  --train N              normal training images (default 60)\n"
    "  --test-good N          normal test images (default 20)\n"
    "  --defects-per-kind N   defective test images per defect kind (default 8)\n"
    "  --size N               image side in pixels (default 256)\n"
    "  --seed N               random seed (default 7)\n";

int synth_command(const std::vector<std::string>& argv) {
  const Args args(argv, {"output", "train", "test-good", "defects-per-kind", "size", "seed"}, {});
  if (!args.positionals().empty()) throw UsageError("unexpected argument '" + args.positionals().front() + "'");
  const std::string output = args.get("output");
  if (output.empty()) throw UsageError("give --output FOLDER");
  SyntheticOptions o;
  o.train_good = int(args.get_int("train", 60, 2, 100000));
  o.test_good = int(args.get_int("test-good", 20, 1, 100000));
  o.test_defective_per_kind = int(args.get_int("defects-per-kind", 8, 1, 100000));
  o.size = int(args.get_int("size", 256, 64, 4096));
  o.seed = uint64_t(args.get_int("seed", 7, 0, INT64_MAX));
  const int written = write_synthetic_dataset(output, o);
  std::printf("wrote %d images to %s\n", written, output.c_str());
  return 0;
}

}  // namespace efficientad::cli
