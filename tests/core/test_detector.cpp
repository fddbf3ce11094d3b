// Inference (Algorithm 2) through the public Detector: exactness against the straightforward port, fast vs exact,
// every pixel format, odd and huge frame sizes, regions of interest, and the errors users can run into.
#include <ATen/ATen.h>
#include "check_compat.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "efficientad/detector.h"
#include "efficientad/errors.h"
#include "image/image_ops.h"
#include "common/device.h"
#include "image/image_tensors.h"
#include "inference/map_computer.h"
#include "model/model_file.h"
#include "ops/map_postprocess.h"
#include "test_helpers.h"

using namespace efficientad;
namespace core = efficientad::detail;  // "detail" alone is ambiguous next to LibTorch's namespaces

namespace {

std::string folder;
std::string model_s, model_s_padded, model_m;

void setup() {
  folder = test::temp_folder("detector");
  model_s = folder + "/s.efad";
  model_s_padded = folder + "/s_padded.efad";
  model_m = folder + "/m.efad";
  test::write_random_model(model_s, ModelGeometry{Variant::Small, 256, 256, false});
  test::write_random_model(model_s_padded, ModelGeometry{Variant::Small, 256, 256, true});
  test::write_random_model(model_m, ModelGeometry{Variant::Medium, 256, 256, false});
}

void teardown() { std::filesystem::remove_all(folder); }

at::Tensor as_tensor(const AnomalyMap& m) {
  return at::from_blob(const_cast<float*>(m.values.data()), {m.height, m.width}).clone();
}

double relative_diff(const AnomalyMap& a, const AnomalyMap& b) {
  const at::Tensor x = as_tensor(a), y = as_tensor(b);
  return ((x - y).abs().max() / y.abs().max()).item<double>();
}

// The reference port's combined map for one image, at the network input size.
at::Tensor reference_map(const std::string& model, const Image& image) {
  const core::LoadedModel m = core::load_model(model);
  const auto& g = m.info.geometry;
  const Image input = core::to_network_input(image.view(), g.input_width, g.input_height);
  const uint8_t* pixels = input.data();
  const core::RawMaps raw = core::reference_maps(m.nets, core::pack_batch({pixels}, g.input_width, g.input_height));
  const auto& q = m.info.quantiles;
  const at::Tensor st = 0.1 * (raw.st - q.st_a) / (q.st_b - q.st_a), ae = 0.1 * (raw.ae - q.ae_a) / (q.ae_b - q.ae_a);
  const int64_t b = g.map_border_cells();
  const at::Tensor padded = at::constant_pad_nd((0.5 * st + 0.5 * ae).unsqueeze(1), {b, b, b, b}, 0.0);
  return at::upsample_bilinear2d(padded, {image.height(), image.width()}, false).view({image.height(), image.width()});
}

}  // namespace

START_TEST(exact_matches_reference_port) {
  for (const std::string& model : {model_s, model_s_padded, model_m}) {
    Detector detector(model, DetectorOptions{Device::Cpu, Mode::Exact, 0});
    const Image image = test::textured_image(256, 256, 11);
    const Detection d = detector.detect(image.view());
    const at::Tensor expected = reference_map(model, image);
    const double rel = ((as_tensor(d.map) - expected).abs().max() / expected.abs().max()).item<double>();
    ck_assert_msg(rel <= 1e-4, "%s: exact map differs from the reference by %g (relative)", model.c_str(), rel);
    ck_assert_float_eq_tol(d.score, expected.max().item<float>(), 1e-4f * std::abs(d.score) + 1e-6f);
  }
}
END_TEST

START_TEST(fast_agrees_with_exact) {
  Detector exact(model_s, DetectorOptions{Device::Cpu, Mode::Exact, 0});
  Detector fast(model_s, DetectorOptions{Device::Cpu, Mode::Fast, 0});
  for (unsigned seed : {1u, 2u, 3u}) {
    const Image image = test::textured_image(300, 200, seed);
    const Detection a = exact.detect(image.view()), b = fast.detect(image.view());
    const at::Tensor x = as_tensor(a.map), y = as_tensor(b.map);
    const double correlation = at::corrcoef(at::stack({x.flatten(), y.flatten()}))[0][1].item<double>();
    const double range = (x.max() - x.min()).item<double>();
    ck_assert_msg(correlation > 0.99, "fast/exact map correlation %f", correlation);
    ck_assert_msg(std::abs(a.score - b.score) < 0.05 * range, "scores %f vs %f (map range %f)", a.score, b.score, range);
  }
}
END_TEST

START_TEST(batch_equals_single_images) {
  Detector detector(model_s, DetectorOptions{Device::Cpu, Mode::Exact, 0});
  const Image a = test::textured_image(256, 256, 4), b = test::textured_image(640, 480, 5);
  const auto both = detector.detect(std::vector<ImageView>{a.view(), b.view()});
  ck_assert_uint_eq(both.size(), 2);
  ck_assert(relative_diff(both[0].map, detector.detect(a.view()).map) < 1e-5);
  ck_assert(relative_diff(both[1].map, detector.detect(b.view()).map) < 1e-5);
  ck_assert_int_eq(both[1].map.width, 640);
  ck_assert_int_eq(both[1].map.height, 480);
  ck_assert(detector.detect(std::vector<ImageView>{}).empty());
}
END_TEST

START_TEST(pixel_formats_are_equivalent) {
  Detector detector(model_s, DetectorOptions{Device::Cpu, Mode::Exact, 0});
  const Image rgb = test::textured_image(200, 150, 6);
  const size_t pixels = 200 * 150;
  Image bgr(200, 150, PixelFormat::Bgr8), rgba(200, 150, PixelFormat::Rgba8), bgra(200, 150, PixelFormat::Bgra8);
  for (size_t i = 0; i < pixels; ++i) {
    const uint8_t* p = rgb.data() + 3 * i;
    uint8_t* q = bgr.data() + 3 * i;
    q[0] = p[2], q[1] = p[1], q[2] = p[0];
    uint8_t* r = rgba.data() + 4 * i;
    r[0] = p[0], r[1] = p[1], r[2] = p[2], r[3] = 17;
    uint8_t* s = bgra.data() + 4 * i;
    s[0] = p[2], s[1] = p[1], s[2] = p[0], s[3] = 200;
  }
  const AnomalyMap reference = detector.detect(rgb.view()).map;
  for (const Image* other : {&bgr, &rgba, &bgra}) ck_assert(relative_diff(detector.detect(other->view()).map, reference) < 1e-6);
  // A grey frame equals the RGB frame with three equal channels.
  Image gray(200, 150, PixelFormat::Gray8), gray_rgb(200, 150, PixelFormat::Rgb8);
  for (size_t i = 0; i < pixels; ++i) gray.data()[i] = gray_rgb.data()[3 * i] = gray_rgb.data()[3 * i + 1] = gray_rgb.data()[3 * i + 2] = rgb.data()[3 * i];
  ck_assert(relative_diff(detector.detect(gray.view()).map, detector.detect(gray_rgb.view()).map) < 1e-6);
}
END_TEST

START_TEST(region_of_interest_equals_cropped_copy) {
  Detector detector(model_s, DetectorOptions{Device::Cpu, Mode::Exact, 0});
  const Image frame = test::textured_image(640, 360, 7);
  const ImageView roi = frame.view().crop(100, 50, 300, 260);
  Image copy(300, 260, PixelFormat::Rgb8);
  for (int y = 0; y < 260; ++y) std::memcpy(copy.data() + y * 900, roi.data + y * roi.row_bytes(), 900);
  ck_assert(relative_diff(detector.detect(roi).map, detector.detect(copy.view()).map) < 1e-6);
}
END_TEST

START_TEST(odd_and_huge_frame_sizes) {
  Detector detector(model_s, DetectorOptions{Device::Cpu, Mode::Fast, 0});
  for (auto [w, h] : {std::pair{1, 1}, std::pair{3, 1000}, std::pair{1023, 17}, std::pair{4096, 2160}}) {
    const Image image = test::textured_image(w, h, 8);
    const Detection d = detector.detect(image.view());
    ck_assert_int_eq(d.map.width, w);
    ck_assert_int_eq(d.map.height, h);
    ck_assert(std::isfinite(d.score));
    ck_assert_float_eq(d.score, d.map.max());
  }
}
END_TEST

START_TEST(map_size_and_component_maps) {
  Detector detector(model_s, DetectorOptions{Device::Cpu, Mode::Exact, 0});
  const Image image = test::textured_image(640, 480, 9);
  MapOptions o;
  o.map_width = 64;
  o.map_height = 48;
  o.component_maps = true;
  const Detection d = detector.detect(image.view(), o);
  ck_assert_int_eq(d.map.width, 64);
  ck_assert_int_eq(d.local_map.height, 48);
  ck_assert_int_eq(d.global_map.width, 64);
  for (size_t i = 0; i < d.map.values.size(); ++i) {
    ck_assert_float_eq_tol(d.map.values[i], 0.5f * d.local_map.values[i] + 0.5f * d.global_map.values[i], 1e-6f);
  }
  ck_assert(detector.detect(image.view()).local_map.values.empty());  // only on request
}
END_TEST

START_TEST(threshold_controls_decision) {
  Detector detector(model_s, DetectorOptions{Device::Cpu, Mode::Fast, 0});
  ck_assert_float_eq(detector.threshold(), detector.info().threshold);
  const Image image = test::textured_image(256, 256, 10);
  const float score = detector.detect(image.view()).score;
  detector.set_threshold(score - 0.01f);
  ck_assert(detector.detect(image.view()).anomalous);
  detector.set_threshold(score + 0.01f);
  ck_assert(!detector.detect(image.view()).anomalous);
}
END_TEST

START_TEST(empty_images_n) {
  Detector detector(model_s, DetectorOptions{Device::Cpu, Mode::Fast, 0});
  const uint8_t pixel[3] = {1, 2, 3};
  for (ImageView v : {ImageView{nullptr, 10, 10, PixelFormat::Rgb8, 0}, ImageView{pixel, 0, 1, PixelFormat::Rgb8, 0},
                      ImageView{pixel, 1, 0, PixelFormat::Rgb8, 0}, ImageView{pixel, -5, 3, PixelFormat::Rgb8, 0}}) {
    test::expect_throw<ImageError>([&] { detector.detect(v); }, "empty image");
  }
}
END_TEST

START_TEST(bad_options_n) {
  Detector detector(model_s, DetectorOptions{Device::Cpu, Mode::Fast, 0});
  const Image image = test::textured_image(64, 64, 1);
  for (auto [w, h] : {std::pair{10, 0}, std::pair{0, 10}, std::pair{-4, -4}}) {
    MapOptions o;
    o.map_width = w;
    o.map_height = h;
    test::expect_throw<InvalidArgument>([&] { detector.detect(image.view(), o); }, "map size");
  }
  test::expect_throw<InvalidArgument>([&] { detector.set_threshold(NAN); }, "finite");
  test::expect_throw<InvalidArgument>([&] { image.view().crop(60, 60, 10, 10); }, "does not fit");
}
END_TEST

START_TEST(bad_model_files_n) {
  test::expect_throw<ModelFileError>([&] { Detector d(folder + "/missing.efad"); }, "not found");
  auto bytes = test::read_bytes(model_s);
  bytes.resize(bytes.size() / 2);
  test::write_bytes(folder + "/half.efad", bytes);
  test::expect_throw<ModelFileError>([&] { Detector d(folder + "/half.efad"); }, "truncated");
  core::LoadedModel m = core::load_model(model_s);
  core::save_teacher(folder + "/teacher.efad", m.nets.teacher, "test");
  test::expect_throw<ModelFileError>([&] { Detector d(folder + "/teacher.efad"); }, "teacher file, not a trained model");
}
END_TEST

START_TEST(unavailable_cuda_is_reported_n) {
  if (ops::cuda::device_available() && core::resolve_device(Device::Auto) == Device::Cuda) return;  // a CUDA build on a GPU
  test::expect_throw<DeviceError>([&] { Detector d(model_s, DetectorOptions{Device::Cuda, Mode::Fast, 0}); }, "-Dlibtorch_dir");
  Detector automatic(model_s, DetectorOptions{Device::Auto, Mode::Fast, 0});
  ck_assert(automatic.device() == Device::Cpu);
}
END_TEST

int main() {
  return test::run_cases("detector", {
      {"positive", TESTS(exact_matches_reference_port, fast_agrees_with_exact, batch_equals_single_images,
                   pixel_formats_are_equivalent, region_of_interest_equals_cropped_copy, odd_and_huge_frame_sizes,
                   map_size_and_component_maps, threshold_controls_decision), 600, setup, teardown},
      {"negative", TESTS(empty_images_n, bad_options_n, bad_model_files_n, unavailable_cuda_is_reported_n), 300, setup, teardown},
  }, test::Fork::None);
}
