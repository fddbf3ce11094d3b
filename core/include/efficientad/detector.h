// Inference (paper Algorithm 2): images in, anomaly maps and image scores out.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "efficientad/image.h"
#include "efficientad/model.h"

namespace efficientad {

struct DetectorOptions {
  Device device = Device::Auto;
  Mode mode = Mode::Fast;
  int threads = 0;  // CPU threads for the networks; 0 = one per core
};

// A dense float map, row-major.
struct AnomalyMap {
  int width = 0;
  int height = 0;
  std::vector<float> values;

  float at(int x, int y) const { return values[size_t(y) * width + x]; }
  float max() const;
};

struct DetectOptions {
  // Resolution of the returned maps: 0 x 0 (default) means each image's own size; otherwise this size.
  int map_width = 0;
  int map_height = 0;
  // Also return the normalised local (student-teacher) and global (student-autoencoder) maps.
  bool component_maps = false;
};

struct Detection {
  float score = 0;         // max of the combined map (Algorithm 2, line 11)
  bool anomalous = false;  // score > the detector's threshold
  AnomalyMap map;          // combined normalised map, 0.5 * local + 0.5 * global
  AnomalyMap local_map;    // filled when DetectOptions::component_maps
  AnomalyMap global_map;
};

class Detector {
 public:
  // Loads and validates the model; throws ModelFileError, DeviceError, InvalidArgument.
  explicit Detector(const std::string& model_path, const DetectorOptions& options = {});
  ~Detector();
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  // One result per image. Images may differ in size and pixel format; each is resized to the model's input.
  // Throws ImageError for an empty image. Safe to call from any thread; calls are serialised (the networks run on
  // one thread owned by the Detector).
  std::vector<Detection> detect(const std::vector<ImageView>& images, const DetectOptions& options = {});
  Detection detect(const ImageView& image, const DetectOptions& options = {});

  const ModelInfo& info() const;
  Device device() const;  // the device actually used (never Auto)
  Mode mode() const;

  float threshold() const;
  void set_threshold(float threshold);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace efficientad
