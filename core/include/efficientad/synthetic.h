// A self-made demonstration dataset: machined washers on a conveyor belt, rendered procedurally, with injected
// defects and their masks. It exists so that the README's main job runs on a fresh machine without any download.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "efficientad/image.h"

namespace efficientad {

struct SyntheticOptions {
  int train_good = 60;
  int test_good = 20;
  int test_defective_per_kind = 8;
  int size = 256;  // square images, pixels
  uint64_t seed = 7;
};

// The defect kinds rendered into test/<kind>: local (scratch, crack, spot, chip) and logical (missing_hole).
std::vector<std::string> synthetic_defect_kinds();

// One picture of a part; `defect` is empty for a good part. `mask` (Gray8, 255 = defect) is filled when non-null.
Image render_synthetic_part(int size, uint64_t seed, const std::string& defect, Image* mask);

// Writes the dataset in MVTec AD layout under `folder`: train/good, test/good, test/<kind>,
// ground_truth/<kind>/<stem>_mask.png. Returns the number of images written. Throws IoError, InvalidArgument.
int write_synthetic_dataset(const std::string& folder, const SyntheticOptions& options);

// A conveyor belt filmed from above: parts travel through a fixed camera's view, one every
// (height * 5 / 4) pixels of belt. The first `good_parts` are good (the start of the belt a capture trains on),
// then every `defect_every`-th part carries a defect, the kinds in turn.
struct ConveyorOptions {
  int width = 384, height = 256;  // frame size in pixels; a part is about 0.72 * height across
  int parts = 36;
  int good_parts = 12;
  int defect_every = 3;
  int step = 16;  // belt travel per frame, pixels
  uint64_t seed = 11;
};

struct ConveyorPart {
  int index = 0;
  std::string defect;  // empty for a good part
  int first_frame = 0, last_frame = 0;                  // frames that show any of the part
  int defect_first_frame = -1, defect_last_frame = -1;  // frames that show any of its defect; -1 for none
};

struct ConveyorVideo {
  int frames = 0;
  std::vector<ConveyorPart> parts;
};

// Throws InvalidArgument, saying what to change, for options out of range.
void check_conveyor_options(const ConveyorOptions& options);

// Writes the frames as `folder`/frame-00000.png, frame-00001.png, ... (GStreamer's multifilesrc reads them as a
// video) and `folder`/parts.csv, one line per part: index, defect, first and last frame showing the part and its
// defect. Throws InvalidArgument for options out of range, IoError.
ConveyorVideo write_conveyor_video(const std::string& folder, const ConveyorOptions& options);

}  // namespace efficientad
