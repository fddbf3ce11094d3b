// Inference (paper Algorithm 2): images in, anomaly maps and image scores out.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "efficientad/detection.h"
#include "efficientad/image.h"
#include "efficientad/model.h"

namespace efficientad {

struct DetectorOptions {
  Device device = Device::Auto;
  Mode mode = Mode::Fast;
  // CPU threads for the networks; 0 = one per core that other work leaves free, re-checked every second (a
  // thread on a busy core holds every layer up: see docs/RESULTS.md, "Shared cores").
  int threads = 0;
  Convolutions convolutions = Convolutions::Winograd;
  FastAutoencoder autoencoder = FastAutoencoder::Int8;
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
  std::vector<Detection> detect(const std::vector<ImageView>& images, const MapOptions& options = {});
  Detection detect(const ImageView& image, const MapOptions& options = {});

  const ModelInfo& info() const;
  Device device() const;  // the device actually used (never Auto)
  Mode mode() const;
  int threads() const;  // CPU threads the networks use now

  // The model's calibrated threshold for the maps this detector computes: the int8 one when it runs int8 and the
  // model has one (see ModelInfo::int8_threshold), else the exact one. threshold() starts there.
  float calibrated_threshold() const;
  float threshold() const;
  void set_threshold(float threshold);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace efficientad
