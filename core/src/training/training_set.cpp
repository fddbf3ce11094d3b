// The normal images a training run reads, converted to the network input as they are added.
#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "efficientad/trainer.h"
#include "image/image_ops.h"

namespace efficientad {

const char* phase_name(TrainProgress::Phase phase) {
  switch (phase) {
    case TrainProgress::Phase::TeacherStatistics: return "teacher statistics";
    case TrainProgress::Phase::Training: return "training";
    case TrainProgress::Phase::Calibration: return "calibration";
    case TrainProgress::Phase::Done: return "done";
  }
  return "?";
}

TrainingSet::TrainingSet(int input_width, int input_height) : width_(input_width), height_(input_height) {
  validate_geometry(ModelGeometry{Variant::Small, input_width, input_height, false});
}

void TrainingSet::add(const ImageView& image, const std::string& name) {
  images_.push_back(detail::to_network_input(image, width_, height_));
  names_.push_back(name.empty() ? "frame " + std::to_string(images_.size()) : name);
}

size_t TrainingSet::add_folder(const std::string& folder) {
  const std::vector<std::string> files = list_image_files(folder);
  if (files.empty()) {
    throw InvalidArgument("no images (.png, .jpg, .jpeg, .bmp, .tif) in folder " + folder);
  }
  for (const auto& file : files) add(load_image(file).view(), file);
  return files.size();
}

}  // namespace efficientad
