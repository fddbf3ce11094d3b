// End to end on a real industrial dataset: train on battery_weld's normal images with a small step budget
// (random teacher, pretraining penalty from the ImageNet samples), then check that defective test images score
// higher than good ones. Needs the shared data folder; fails (never skips) without it.
#include "check_compat.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "efficientad/detector.h"
#include "efficientad/image_io.h"
#include "efficientad/trainer.h"
#include "test_helpers.h"

using namespace efficientad;

namespace {

// Probability that a random defective image outscores a random good one (ties count half): image AUROC.
double auroc(const std::vector<float>& good, const std::vector<float>& defective) {
  double wins = 0;
  for (float d : defective) {
    for (float g : good) wins += d > g ? 1.0 : d == g ? 0.5 : 0.0;
  }
  return wins / (double(good.size()) * double(defective.size()));
}

}  // namespace

START_TEST(defects_score_higher_than_good_parts) {
  const std::string data = test::shared_data_folder();
  const std::string root = data + "/datasets/battery_weld";
  const char* steps_env = std::getenv("EFFICIENTAD_E2E_STEPS");
  const int64_t steps = steps_env ? std::atoll(steps_env) : 300;
  const std::string folder = test::temp_folder("battery");
  const std::string model = folder + "/battery_weld.efad";

  TrainingSet set(256, 256);
  set.add_folder(root + "/train/good");
  TrainOptions options;
  options.steps = steps;
  options.penalty_folder = data + "/natural_images/imagenet_samples";
  const TrainResult trained = train_model(set, options, model);

  Detector detector(model);
  auto scores = [&](const std::string& sub) {
    std::vector<float> out;
    for (const auto& file : list_image_files(root + "/test/" + sub)) out.push_back(detector.detect(load_image(file).view()).score);
    return out;
  };
  const std::vector<float> good = scores("good"), defective = scores("defective");
  const double image_auroc = auroc(good, defective);
  std::printf("battery_weld: %lld steps, %.0f s training, image AUROC %.4f (%zu good, %zu defective)\n",
              (long long)steps, trained.info.provenance.train_seconds, image_auroc, good.size(), defective.size());
  // Bar: the reference implementation reaches 0.902 here with a random teacher and 300 steps (README); a chance
  // detector gives 0.5. 0.85 leaves room for seed-to-seed spread while catching any real regression.
  ck_assert_msg(image_auroc >= 0.85, "image AUROC %.4f below 0.85", image_auroc);
  std::filesystem::remove_all(folder);
}
END_TEST

int main() {
  return test::run_cases("battery_weld", {
      {"end_to_end", TESTS(defects_score_higher_than_good_parts)},
  }, test::Fork::None);
}
