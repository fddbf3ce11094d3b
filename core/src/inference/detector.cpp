#include "efficientad/detector.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>

#include "common/cpu_threads.h"
#include "common/device.h"
#include "common/tensor_memory.h"
#include "efficientad/errors.h"
#include "image/image_ops.h"
#include "image/image_tensors.h"
#include "inference/detection.h"
#include "inference/map_computer.h"
#include "inference/worker_thread.h"

namespace efficientad {

struct Detector::Impl {
  detail::WorkerThread worker;  // runs every LibTorch call: see worker_thread.h
  detail::LoadedModel model;
  Device device;
  Mode mode;
  std::atomic<float> threshold;
  std::unique_ptr<detail::MapComputer> maps;
  std::unique_ptr<detail::AdaptiveThreads> adaptive_threads;  // threads = 0 on a CPU
};

Detector::Detector(const std::string& model_path, const DetectorOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->worker.run([&] {
    impl_->device = detail::resolve_device(options.device);
    detail::reuse_tensor_memory();
    impl_->mode = options.mode;
    if (options.threads > 0 || impl_->device != Device::Cpu) {
      detail::set_cpu_threads(options.threads);
    } else {
      impl_->adaptive_threads = std::make_unique<detail::AdaptiveThreads>();
    }
    impl_->model = detail::load_model(model_path);
    impl_->maps = std::make_unique<detail::MapComputer>(impl_->model.nets, options.mode, impl_->device,
                                                        std::nullopt, options.convolutions, options.autoencoder);
    impl_->threshold = calibrated_threshold();
  });
}

Detector::~Detector() {
  if (impl_) impl_->worker.run([&] { impl_->maps.reset(), impl_->model = {}; });  // free tensors where they live
}

std::vector<Detection> Detector::detect(const std::vector<ImageView>& images, const MapOptions& options) {
  if (images.empty()) return {};
  if ((options.map_width > 0) != (options.map_height > 0) || options.map_width < 0 || options.map_height < 0) {
    throw InvalidArgument("map size must be 0x0 (each image's size) or positive in both directions");
  }
  const ModelGeometry& g = impl_->model.info.geometry;
  std::vector<Image> inputs;
  std::vector<const uint8_t*> pixels;
  inputs.reserve(images.size());
  for (const ImageView& view : images) {
    inputs.push_back(detail::to_network_input(view, g.input_width, g.input_height));
    pixels.push_back(inputs.back().data());
  }
  detail::RawMaps raw;
  impl_->worker.run([&] {
    int side_by_side = 0;
    if (impl_->adaptive_threads) {
      impl_->adaptive_threads->update();
      side_by_side = impl_->adaptive_threads->side_by_side_threads();
    }
    raw = impl_->maps->compute(detail::pack_batch(pixels, g.input_width, g.input_height), side_by_side);
  });

  std::vector<Detection> out;
  out.reserve(images.size());
  const size_t cells = size_t(g.feature_width()) * g.feature_height();
  for (size_t i = 0; i < images.size(); ++i) {
    const int w = options.map_width > 0 ? options.map_width : images[i].width;
    const int h = options.map_height > 0 ? options.map_height : images[i].height;
    out.push_back(detail::finish_detection(raw.st.data_ptr<float>() + i * cells, raw.ae.data_ptr<float>() + i * cells,
                                           impl_->model.info, w, h, options.component_maps, impl_->threshold.load()));
  }
  return out;
}

Detection Detector::detect(const ImageView& image, const MapOptions& options) {
  return std::move(detect(std::vector<ImageView>{image}, options).front());
}

const ModelInfo& Detector::info() const { return impl_->model.info; }
Device Detector::device() const { return impl_->device; }
Mode Detector::mode() const { return impl_->mode; }
int Detector::threads() const {
  int n = 0;
  impl_->worker.run([&] { n = at::get_num_threads(); });
  return n;
}
float Detector::calibrated_threshold() const {
  const ModelInfo& info = impl_->model.info;
  return impl_->maps->runs_int8() && info.int8_threshold ? *info.int8_threshold : info.threshold;
}
float Detector::threshold() const { return impl_->threshold; }

void Detector::set_threshold(float threshold) {
  if (!std::isfinite(threshold)) throw InvalidArgument("threshold must be a finite number");
  impl_->threshold = threshold;
}

}  // namespace efficientad
