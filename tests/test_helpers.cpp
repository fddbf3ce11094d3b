#include "test_helpers.h"

#include <ATen/ATen.h>
#include "check_compat.h"
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "inference.h"
#include "model.h"

namespace fs = std::filesystem;

namespace test {

std::string temp_folder(const std::string& tag) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/efficientad-" + tag + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  ck_assert_ptr_nonnull(mkdtemp(buffer.data()));
  return buffer.data();
}

void write_random_model(const std::string& path, const efficientad::ModelGeometry& g, unsigned seed) {
  using namespace efficientad::detail;
  at::manual_seed(seed);
  Networks n;
  n.geometry = g;
  n.teacher = make_pdn(g.variant, kTeacherChannels, g.padding);
  n.student = make_pdn(g.variant, 2 * kTeacherChannels, g.padding);
  n.autoencoder = make_autoencoder(g);
  n.teacher_mean = at::rand({kTeacherChannels}) * 0.1;
  n.teacher_std = at::rand({kTeacherChannels}) * 0.5 + 0.5;
  const at::Tensor sample = imagenet_normalize(at::rand({2, 3, g.input_height, g.input_width}));
  n.teacher_activation_max = hidden_activation_max(n.teacher, sample);
  n.student_activation_max = hidden_activation_max(n.student, sample);
  efficientad::ModelInfo info;
  info.geometry = g;
  info.quantiles = {0.5f, 0.9f, 0.01f, 0.03f};
  info.threshold = 0.4f;
  info.validation = {0.1f, 0.05f, 0.2f};
  info.provenance.steps = 0;
  info.provenance.train_images = 2;
  info.provenance.validation_images = 1;
  info.provenance.teacher_origin = "random (test fixture)";
  info.provenance.precision = "none";
  info.provenance.created = "2026-01-01T00:00:00Z";
  info.provenance.library_version = "test";
  save_model(path, n, info);
}

efficientad::Image textured_image(int width, int height, unsigned seed) {
  efficientad::Image image(width, height, efficientad::PixelFormat::Rgb8);
  std::mt19937 rng(seed);
  uint8_t* p = image.data();
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) {
        *p++ = uint8_t((x * (3 + c) + y * (5 - c) + int(rng() % 24)) & 0xFF);
      }
    }
  }
  return image;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::string shared_data_folder() {
  const char* env = std::getenv("EFFICIENTAD_SHARED_DATA");
  std::string folder = env && *env ? env : "";
  ck_assert_msg(!folder.empty(),
                "shared test data not configured: run 'meson configure build -Dshared_data=/path/to/shared/data' "
                "(CI passes ../shared/data)");
  ck_assert_msg(fs::is_directory(folder + "/datasets"), "shared test data folder %s has no datasets/ subfolder",
                folder.c_str());
  return folder;
}

int run_suite(Suite* suite, bool fork_per_test) {
  SRunner* runner = srunner_create(suite);
  if (!fork_per_test) srunner_set_fork_status(runner, CK_NOFORK);
  srunner_run_all(runner, CK_NORMAL);
  const int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? 0 : 1;
}

}  // namespace test
