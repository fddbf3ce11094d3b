#include <cstdio>

#include "args.h"
#include "commands.h"
#include "efficientad/synthetic.h"

namespace efficientad::cli {

const char* const kConveyorUsage =
    "usage: efficientad conveyor --output FOLDER [options]\n"
    "\n"
    "Renders the main job's video: washers on a conveyor belt passing a fixed camera, the first parts good, then\n"
    "every n-th part with a defect (scratch, crack, spot, chip, missing_hole in turn). Writes the frames as\n"
    "FOLDER/frame-00000.png, ... (GStreamer: multifilesrc location=FOLDER/frame-%05d.png) and FOLDER/parts.csv:\n"
    "per part, its defect and the first and last frame that show the part and its defect.\n"
    "\n"
    "  --output FOLDER     where to write (created)\n"
    "  --parts N           parts on the belt (default 36)\n"
    "  --good-parts N      good parts at the start of the belt (default 12)\n"
    "  --defect-every N    after those, every N-th part is defective (default 3)\n"
    "  --width N           frame width in pixels (default 384)\n"
    "  --height N          frame height in pixels (default 256)\n"
    "  --step N            belt travel per frame in pixels (default 16)\n"
    "  --seed N            random seed (default 11)\n";

int conveyor_command(const std::vector<std::string>& argv) {
  const Args args(argv, {"output", "parts", "good-parts", "defect-every", "width", "height", "step", "seed"}, {});
  if (!args.positionals().empty()) throw UsageError("unexpected argument '" + args.positionals().front() + "'");
  const std::string output = args.get("output");
  if (output.empty()) throw UsageError("give --output FOLDER");
  ConveyorOptions o;
  o.parts = int(args.get_int("parts", o.parts, 1, 10000));
  o.good_parts = int(args.get_int("good-parts", o.good_parts, 0, 10000));
  o.defect_every = int(args.get_int("defect-every", o.defect_every, 1, 10000));
  o.width = int(args.get_int("width", o.width, 64, 8192));
  o.height = int(args.get_int("height", o.height, 64, 8192));
  o.step = int(args.get_int("step", o.step, 1, 8192));
  o.seed = uint64_t(args.get_int("seed", int64_t(o.seed), 0, INT64_MAX));
  try {
    check_conveyor_options(o);
  } catch (const InvalidArgument& e) {
    throw UsageError(e.what());
  }
  const ConveyorVideo video = write_conveyor_video(output, o);
  int defective = 0;
  for (const auto& part : video.parts) defective += !part.defect.empty();
  std::printf("wrote %d frames (%dx%d) of %zu parts, %d defective, to %s; parts.csv says which frames show them\n",
              video.frames, o.width, o.height, video.parts.size(), defective, output.c_str());
  return 0;
}

}  // namespace efficientad::cli
