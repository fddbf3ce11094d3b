#include "fixtures.h"
#include "random_networks.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

#include "inference/map_computer.h"
#include "model/model_file.h"

namespace test {
namespace {

// Folders made by temp_folder, removed when the process that made them exits (Check forks a process per test:
// a child must not remove its parent's folders). EFFICIENTAD_KEEP_TEST_FILES=1 keeps them for debugging.
class CreatedFolders {
 public:
  void add(const std::string& path) { folders_.emplace_back(getpid(), path); }
  ~CreatedFolders() {
    const char* keep = std::getenv("EFFICIENTAD_KEEP_TEST_FILES");
    if (keep && *keep && std::string(keep) != "0") return;
    for (const auto& [owner, path] : folders_) {
      std::error_code ignored;
      if (owner == getpid()) std::filesystem::remove_all(path, ignored);
    }
  }

 private:
  std::vector<std::pair<pid_t, std::string>> folders_;
};

CreatedFolders& created_folders() {
  static CreatedFolders folders;
  return folders;
}

}  // namespace

std::string temp_folder(const std::string& tag) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/efficientad-" + tag + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("cannot create a temporary folder from " + pattern);
  created_folders().add(buffer.data());
  return buffer.data();
}

efficientad::detail::Networks random_networks(const efficientad::ModelGeometry& g, unsigned seed) {
  using namespace efficientad::detail;
  at::manual_seed(seed);
  Networks n;
  n.geometry = g;
  n.teacher = make_pdn(g.variant, kTeacherChannels, g.padding);
  n.student = make_pdn(g.variant, 2 * kTeacherChannels, g.padding);
  n.autoencoder = make_autoencoder(g);
  n.teacher_mean = at::rand({kTeacherChannels}) * 0.1;
  n.teacher_std = at::rand({kTeacherChannels}) * 0.5 + 0.5;
  // Calibration images as varied as the tests' inputs: per-pixel noise and smooth blobs (per-channel int8 ranges
  // clip what the calibration never showed a channel).
  const at::Tensor noise = at::rand({2, 3, g.input_height, g.input_width});
  const at::Tensor blobs = at::upsample_bilinear2d(at::rand({2, 3, 8, 8}), {g.input_height, g.input_width}, false);
  const at::Tensor sample = imagenet_normalize(at::cat({noise, blobs}));
  n.teacher_activation_max = hidden_activation_max(n.teacher, sample);
  n.student_activation_max = hidden_activation_max(n.student, sample);
  n.decoder_activation_max = decoder_activation_max(n.autoencoder, sample);
  return n;
}

void write_random_model(const std::string& path, const efficientad::ModelGeometry& g, unsigned seed,
                        std::optional<float> int8_threshold) {
  using namespace efficientad::detail;
  const Networks n = random_networks(g, seed);
  efficientad::ModelInfo info;
  info.geometry = g;
  // q_a = 0 keeps every normalised value >= 0 (raw maps are means of squares), so any image scores above 0;
  // q_b from the maps of a random image puts the values on the usual scale.
  const at::Tensor images = at::randint(0, 256, {1, g.input_height, g.input_width, 3}, at::kByte);
  const RawMaps raw = reference_maps(n, images);
  info.quantiles = {0.0f, at::quantile(raw.st, 0.995).item<float>(), 0.0f, at::quantile(raw.ae, 0.995).item<float>()};
  info.threshold = 0.4f;
  info.validation = {0.1f, 0.05f, 0.2f};
  info.int8_threshold = int8_threshold;
  if (int8_threshold) info.int8_validation = {0.15f, 0.05f, 0.25f};
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

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

}  // namespace test
