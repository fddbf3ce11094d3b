// Training (paper Algorithm 1): normal images in, a self-contained model file out.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "efficientad/image.h"
#include "efficientad/model.h"

namespace efficientad {

struct TrainOptions {
  ModelGeometry geometry;
  int64_t steps = 1000;            // the paper uses 70 000; see README for CPU budgets
  uint64_t seed = 42;
  std::string teacher_path;        // pretrained teacher file; empty trains with a random teacher (loud warning)
  // The pretraining penalty (Algorithm 1): natural images from penalty_folder (the paper's ImageNet) when it is
  // set; otherwise `penalty` chooses procedural dead-leaves images or none.
  std::string penalty_folder;
  Penalty penalty = Penalty::Off;
  Device device = Device::Auto;
  Precision precision = Precision::Fast;  // Fast: bf16 autocast + channels-last; Exact: fp32
  double validation_fraction = 0.1;  // held out for the map quantiles and the threshold
  int threads = 0;                 // 0 = one per core
  int64_t teacher_cache_mb = 2048; // memory for cached teacher outputs of un-augmented training images
  Schedule schedule = Schedule::Paper;  // learning rate over the steps (training/schedule.h)
  double learning_rate = 0;        // the schedule's peak; 0: its default (paper 1e-4)
  // > 0: choose_input_size() replaces the geometry's input size with one that keeps the training images' median
  // aspect ratio at about this many pixels (aspect_preserving_input).
  int64_t aspect_input_pixels = 0;
};

// Applies options.aspect_input_pixels from the images in `folders` (up to 64 of them, evenly spread, are read);
// returns the median aspect ratio used, 0 when the option is off. Throws as TrainingSet::add_folder.
double choose_input_size(TrainOptions& options, const std::vector<std::string>& folders);

struct TrainProgress {
  enum class Phase { TeacherStatistics, Training, Calibration, Done };
  Phase phase = Phase::TeacherStatistics;
  int64_t step = 0;    // within the phase
  int64_t total = 0;
  float loss_total = 0, loss_st = 0, loss_ae = 0, loss_stae = 0;  // Training only
  double images_per_second = 0;
  double eta_seconds = 0;  // for the whole run
  double elapsed_seconds = 0;
};
const char* phase_name(TrainProgress::Phase phase);

using ProgressCallback = std::function<void(const TrainProgress&)>;
// Printed once when training runs without a pretrained teacher, and passed to the warning callback.
using WarningCallback = std::function<void(const std::string&)>;

struct TrainResult {
  ModelInfo info;
  std::vector<float> validation_scores;  // image scores of the held-out normal images
  std::vector<float> int8_validation_scores;  // the same on int8 maps; empty where training had no int8 path
};

namespace detail {
class RecordFile;
}

// Normal training images, converted to the network input size (packed RGB) as they are added and kept in an
// unnamed temporary file, so that the process's memory does not grow with the capture: 5000 frames at 1024x1024
// would be 15 GB in RAM. The file is gone when the set is (or when the process dies).
class TrainingSet {
 public:
  // `spill_folder` holds the temporary file (input_width x input_height x 3 bytes per image); empty: the system's
  // temporary folder. Throws InvalidArgument for an input size out of range, IoError when the folder cannot take
  // a file.
  TrainingSet(int input_width, int input_height, const std::string& spill_folder = "");
  ~TrainingSet();
  TrainingSet(TrainingSet&&) noexcept;
  TrainingSet& operator=(TrainingSet&&) noexcept;

  // Throws ImageError for an empty image, IoError when the temporary file cannot take it (full disk).
  void add(const ImageView& image, const std::string& name = "");
  // Adds every image file in `folder` (see list_image_files); returns how many. Throws InvalidArgument when the
  // folder is missing or holds no image, ImageError (naming the file) when one cannot be read, IoError as add().
  size_t add_folder(const std::string& folder);

  size_t size() const { return names_.size(); }
  int input_width() const { return width_; }
  int input_height() const { return height_; }
  // Reads image `i` back (input size, Rgb8). Throws IoError.
  Image image(size_t i) const;
  const std::string& name(size_t i) const { return names_[i]; }

 private:
  int width_, height_;
  std::unique_ptr<detail::RecordFile> pixels_;
  std::vector<std::string> names_;
};

// Trains on at least 2 normal images and writes the model atomically to output_path.
// `cancel` is polled between steps: setting it stops training with Cancelled and writes nothing.
// Throws InvalidArgument, ModelFileError (teacher), DeviceError, IoError, Cancelled.
TrainResult train_model(const TrainingSet& images, const TrainOptions& options, const std::string& output_path,
                        const ProgressCallback& progress = {}, const std::atomic<bool>* cancel = nullptr,
                        const WarningCallback& warn = {});

}  // namespace efficientad
