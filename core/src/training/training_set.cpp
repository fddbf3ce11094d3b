// The normal images a training run reads, converted to the network input as they are added.
#include <algorithm>

#include "common/file_read.h"
#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "efficientad/limits.h"
#include "efficientad/trainer.h"
#include "image/image_header.h"
#include "image/image_ops.h"
#include "training/record_file.h"

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

TrainingSet::TrainingSet(int input_width, int input_height, const std::string& spill_folder)
    : width_(input_width), height_(input_height) {
  validate_geometry(ModelGeometry{Variant::Small, input_width, input_height, false});
  pixels_ = std::make_unique<detail::RecordFile>(spill_folder, size_t(width_) * size_t(height_) * 3);
}

TrainingSet::~TrainingSet() = default;
TrainingSet::TrainingSet(TrainingSet&&) noexcept = default;
TrainingSet& TrainingSet::operator=(TrainingSet&&) noexcept = default;

void TrainingSet::add(const ImageView& image, const std::string& name) {
  pixels_->append(detail::to_network_input(image, width_, height_).data());
  names_.push_back(name.empty() ? "frame " + std::to_string(names_.size() + 1) : name);
}

Image TrainingSet::image(size_t i) const {
  Image out(width_, height_, PixelFormat::Rgb8);
  pixels_->read(i, out.data());
  return out;
}

namespace {

std::vector<std::string> training_images_in(const std::string& folder) {
  std::vector<std::string> files = list_image_files(folder);
  if (files.empty()) throw InvalidArgument("no images (.png, .jpg, .jpeg, .bmp, .tif) in folder " + folder);
  return files;
}

// Width over height from the file's header where it declares its size in the first 64 KB (PNG, BMP, most JPEGs
// and TIFFs), else from decoding the whole image.
double image_aspect(const std::string& path) {
  constexpr size_t kHeaderBytes = 64 << 10;  // past a JPEG's EXIF block, which comes before its size
  const std::vector<uint8_t> head =
      detail::read_file_prefix<ImageError>(path, kMaxImageFileBytes, kHeaderBytes, "image file");
  uint64_t width = 0, height = 0;
  if (detail::declared_image_size(head, &width, &height) && width > 0 && height > 0) {
    return double(width) / double(height);
  }
  const Image image = load_image(path);
  return double(image.width()) / double(image.height());
}

}  // namespace

double choose_input_size(TrainOptions& options, const std::vector<std::string>& folders) {
  if (options.aspect_input_pixels <= 0) return 0;
  std::vector<std::string> files;
  for (const auto& folder : folders) {
    const std::vector<std::string> found = training_images_in(folder);
    files.insert(files.end(), found.begin(), found.end());
  }
  constexpr size_t kSampled = 64;  // the median of 64 is stable, and reading every file's header is not free
  std::vector<double> aspects;
  for (size_t i = 0; i < std::min(files.size(), kSampled); ++i) {
    aspects.push_back(image_aspect(files[i * files.size() / std::min(files.size(), kSampled)]));
  }
  std::nth_element(aspects.begin(), aspects.begin() + long(aspects.size() / 2), aspects.end());
  const double median = aspects[aspects.size() / 2];
  aspect_preserving_input(median, options.aspect_input_pixels, options.geometry.input_width,
                          options.geometry.input_height);
  return median;
}

size_t TrainingSet::add_folder(const std::string& folder) {
  const std::vector<std::string> files = training_images_in(folder);
  for (const auto& file : files) add(load_image(file).view(), file);
  return files.size();
}

}  // namespace efficientad
