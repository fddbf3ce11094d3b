// Training (Algorithm 1) on small in-memory sets: the file it writes, progress and cancellation, determinism,
// equality of the optimised step with the straightforward one, and every way the inputs can be wrong.
#include <ATen/ATen.h>
#include "check_compat.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "efficientad/detector.h"
#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "efficientad/synthetic.h"
#include "efficientad/trainer.h"
#include "common/device.h"
#include "inference/int8_pdn.h"
#include "inference/map_computer.h"
#include "model/model_file.h"
#include "random_networks.h"
#include "test_helpers.h"
#include "training/train_step.h"

using namespace efficientad;
namespace core = efficientad::detail;  // "detail" alone is ambiguous next to LibTorch's namespaces
namespace fs = std::filesystem;

namespace {

std::string folder;

void setup() { folder = test::temp_folder("trainer"); }
void teardown() { fs::remove_all(folder); }

TrainingSet synthetic_set(int count) {
  TrainingSet set(256, 256);
  for (int i = 0; i < count; ++i) set.add(render_synthetic_part(256, 100 + i, "", nullptr).view());
  return set;
}

TrainOptions quick_options() {
  TrainOptions o;
  o.steps = 3;
  o.precision = Precision::Exact;
  o.device = Device::Cpu;
  return o;
}

size_t files_in(const std::string& dir) {
  size_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

}  // namespace

START_TEST(trains_and_writes_a_complete_model) {
  const TrainingSet set = synthetic_set(6);
  std::vector<TrainProgress::Phase> phases;
  int64_t last_training_step = 0;
  std::vector<std::string> warnings;
  const std::string path = folder + "/model.efad";
  const TrainResult r = train_model(set, quick_options(), path,
                                    [&](const TrainProgress& p) {
                                      if (phases.empty() || phases.back() != p.phase) phases.push_back(p.phase);
                                      if (p.phase == TrainProgress::Phase::Training) {
                                        ck_assert_int_eq(p.step, last_training_step + 1);
                                        last_training_step = p.step;
                                        ck_assert(std::isfinite(p.loss_total) && p.loss_total > 0);
                                        ck_assert(p.eta_seconds >= 0);
                                      }
                                    },
                                    nullptr, [&](const std::string& w) { warnings.push_back(w); });
  const std::vector<TrainProgress::Phase> expected{TrainProgress::Phase::TeacherStatistics, TrainProgress::Phase::Training,
                                                   TrainProgress::Phase::Calibration, TrainProgress::Phase::Done};
  ck_assert(phases == expected);
  ck_assert_int_eq(last_training_step, 3);
  ck_assert_uint_eq(warnings.size(), 1);
  ck_assert(std::strstr(warnings[0].c_str(), "NO PRETRAINED TEACHER"));

  const ModelInfo info = read_model_info(path);
  ck_assert_str_eq(info.model_id.c_str(), r.info.model_id.c_str());
  ck_assert_int_eq(info.provenance.steps, 3);
  ck_assert_int_eq(info.provenance.train_images, 5);
  ck_assert_int_eq(info.provenance.validation_images, 1);
  ck_assert(info.provenance.teacher_random);
  ck_assert(info.quantiles.st_b > info.quantiles.st_a && info.quantiles.ae_b > info.quantiles.ae_a);
  ck_assert_uint_eq(r.validation_scores.size(), 1);
  ck_assert_float_eq(info.threshold, r.validation_scores[0]);  // max + 2 std of a single score
  ck_assert_uint_eq(files_in(folder), 1);  // no temporary files left
}
END_TEST

// Fast mode on a CPU runs int8 networks, whose maps score normal images higher than fp32: the model carries a
// threshold calibrated on exactly those maps, and a fast-mode Detector starts from it.
START_TEST(int8_threshold_comes_from_the_maps_fast_mode_computes) {
  const TrainingSet set = synthetic_set(8);
  TrainOptions options = quick_options();
  options.validation_fraction = 0.25;  // 2 held-out images
  const std::string path = folder + "/model.efad";
  const TrainResult r = train_model(set, options, path);
  DetectorOptions fast_options, exact_options;
  fast_options.device = exact_options.device = Device::Cpu;
  exact_options.mode = Mode::Exact;
  Detector fast(path, fast_options), exact(path, exact_options);
  ck_assert_float_eq(exact.calibrated_threshold(), r.info.threshold);
  if (!core::Int8Pdn::available()) {  // a build without oneDNN: one threshold for every mode
    ck_assert(!r.info.int8_threshold && r.int8_validation_scores.empty());
    ck_assert_float_eq(fast.calibrated_threshold(), r.info.threshold);
    return;
  }
  ck_assert(r.info.int8_threshold.has_value());
  ck_assert_uint_eq(r.int8_validation_scores.size(), 2);
  const float int8_max = std::max(r.int8_validation_scores[0], r.int8_validation_scores[1]);
  ck_assert_float_eq(r.info.int8_validation.max, int8_max);
  ck_assert(*r.info.int8_threshold > int8_max);  // max + 2 std of two different scores
  ck_assert_float_eq(fast.calibrated_threshold(), *r.info.int8_threshold);
  ck_assert_float_eq(fast.threshold(), *r.info.int8_threshold);
  ck_assert(*r.info.int8_threshold != r.info.threshold);
  // Each held-out int8 score is what fast-mode detection gives one of the images.
  std::vector<float> fast_scores;
  for (size_t i = 0; i < set.size(); ++i) fast_scores.push_back(fast.detect(set.image(i).view()).score);
  for (const float held_out : r.int8_validation_scores) {
    const bool reproduced = std::any_of(fast_scores.begin(), fast_scores.end(),
                                        [&](float s) { return std::fabs(s - held_out) <= 1e-4f * std::max(1.0f, held_out); });
    ck_assert_msg(reproduced, "held-out int8 score %g is not a fast-mode detection score", double(held_out));
  }
}
END_TEST

START_TEST(same_seed_same_model) {
  const TrainingSet set = synthetic_set(4);
  train_model(set, quick_options(), folder + "/a.efad");
  train_model(set, quick_options(), folder + "/b.efad");
  const auto a = core::load_model(folder + "/a.efad"), b = core::load_model(folder + "/b.efad");
  for (size_t i = 0; i < a.nets.student.layers.size(); ++i) {
    ck_assert(at::equal(a.nets.student.layers[i].weight, b.nets.student.layers[i].weight));
  }
  ck_assert(at::equal(a.nets.teacher_mean, b.nets.teacher_mean));
  ck_assert_float_eq(a.info.quantiles.st_b, b.info.quantiles.st_b);
  TrainOptions other = quick_options();
  other.seed = 7;
  train_model(set, other, folder + "/c.efad");
  ck_assert(!at::equal(a.nets.student.layers[0].weight, core::load_model(folder + "/c.efad").nets.student.layers[0].weight));
}
END_TEST

START_TEST(optimised_step_equals_reference_step) {
  // Cached teacher target, one batched student body, narrowed heads and the partial-sort hard loss must give the
  // losses of the direct port, step after step.
  core::Networks reference = test::random_networks(ModelGeometry{}, 21);
  core::Networks optimised = test::random_networks(ModelGeometry{}, 21);
  auto optimizer = core::make_optimizer(reference);
  for (auto& g : optimizer->param_groups()) {
    for (auto& p : g.params()) p.requires_grad_(true);
  }
  core::StepRunner runner(optimised, Precision::Exact, at::kCPU);
  const at::Tensor image = core::to_unit_float(at::randint(0, 256, {1, 256, 256, 3}, at::kByte)).contiguous();
  const at::Tensor penalty = at::rand({1, 3, 256, 256});
  for (int step = 0; step < 2; ++step) {
    core::StepInputs in;
    in.image = image;
    in.penalty = penalty;
    in.augmentation = 1 + step;
    in.factor = 0.9f;
    at::manual_seed(100 + step);
    const core::StepLosses r = core::reference_step(reference, *optimizer, in);
    in.teacher_target = runner.teacher_output(image, true);
    at::manual_seed(100 + step);
    const core::StepLosses o = runner.step(in);
    ck_assert_float_eq_tol(o.st, r.st, 1e-4f * r.st);
    ck_assert_float_eq_tol(o.ae, r.ae, 1e-4f * r.ae);
    ck_assert_float_eq_tol(o.stae, r.stae, 1e-4f * r.stae + 1e-7f);
    ck_assert_float_eq_tol(o.total, r.total, 1e-4f * r.total);
  }
}
END_TEST

START_TEST(fast_step_close_to_exact_step) {
  core::Networks exact_nets = test::random_networks(ModelGeometry{}, 5);
  core::Networks fast_nets = test::random_networks(ModelGeometry{}, 5);
  core::StepRunner exact(exact_nets, Precision::Exact, at::kCPU), fast(fast_nets, Precision::Fast, at::kCPU);
  core::StepInputs in;
  in.image = at::rand({1, 3, 256, 256});
  in.augmentation = 3;
  in.factor = 1.1f;
  at::manual_seed(1);
  const core::StepLosses a = exact.step(in);
  at::manual_seed(1);
  const core::StepLosses b = fast.step(in);
  ck_assert_msg(std::abs(a.total - b.total) < 0.03 * a.total, "exact %f vs fast %f", a.total, b.total);
  ck_assert_msg(std::abs(a.st - b.st) < 0.05 * a.st, "hard loss exact %f vs fast %f", a.st, b.st);
  // Fast training takes bf16 by the rule fast inference uses (bf16 only where it outruns fp32), not merely
  // where the CPU has bf16 instructions: a bf16 step took 1.5x the fp32 one on a Xeon without AMX.
  ck_assert_int_eq(fast.uses_bf16(), core::cpu_bf16_outruns_fp32());
  ck_assert(!exact.uses_bf16());
}
END_TEST

START_TEST(penalty_images_are_used_and_bad_ones_skipped) {
  const std::string penalty = folder + "/penalty";
  fs::create_directories(penalty);
  for (int i = 0; i < 3; ++i) save_png(penalty + "/p" + std::to_string(i) + ".png", test::textured_image(300, 200, i).view());
  test::write_bytes(penalty + "/broken.jpg", {0xFF, 0xD8, 0xFF, 0x00, 0x01});
  TrainOptions o = quick_options();
  o.steps = 8;
  o.penalty_folder = penalty;
  o.penalty = Penalty::DeadLeaves;  // a folder wins over the procedural images
  std::vector<std::string> warnings;
  const TrainResult r = train_model(synthetic_set(3), o, folder + "/m.efad", {}, nullptr,
                                    [&](const std::string& w) { warnings.push_back(w); });
  ck_assert_int_eq(r.info.provenance.penalty_images, 4);
  ck_assert(!r.info.provenance.penalty_dead_leaves);
  // The broken file is reported once if it was drawn; training never stops because of it.
  for (size_t i = 1; i < warnings.size(); ++i) ck_assert(std::strstr(warnings[i].c_str(), "broken.jpg"));
}
END_TEST

// Without a folder, dead leaves are the penalty's images: recorded, and they change what the student learns.
START_TEST(dead_leaves_penalty_is_used) {
  TrainOptions o = quick_options();
  o.steps = 4;
  o.penalty = Penalty::Off;
  const TrainResult off = train_model(synthetic_set(3), o, folder + "/off.efad");
  o.penalty = Penalty::DeadLeaves;
  const TrainResult on = train_model(synthetic_set(3), o, folder + "/on.efad");
  ck_assert(!off.info.provenance.penalty_dead_leaves);
  ck_assert(on.info.provenance.penalty_dead_leaves);
  ck_assert_int_eq(on.info.provenance.penalty_images, 0);
  ck_assert_msg(on.info.provenance.final_loss != off.info.provenance.final_loss, "the same loss with and without");
  ck_assert(std::strstr(describe(read_model_info(folder + "/on.efad")).c_str(), "penalty dead-leaves images"));
}
END_TEST

START_TEST(cancel_writes_nothing_n) {
  std::atomic<bool> cancel{false};
  const std::string path = folder + "/cancelled.efad";
  test::expect_throw<Cancelled>(
      [&] {
        TrainOptions o = quick_options();
        o.steps = 50;
        train_model(synthetic_set(4), o, path,
                    [&](const TrainProgress& p) {
                      if (p.phase == TrainProgress::Phase::Training && p.step == 2) cancel = true;
                    },
                    &cancel);
      },
      "no model file was written");
  ck_assert(!fs::exists(path));
  ck_assert_uint_eq(files_in(folder), 0);
}
END_TEST

START_TEST(cancel_keeps_previous_model_n) {
  const std::string path = folder + "/model.efad";
  train_model(synthetic_set(3), quick_options(), path);
  const auto before = test::read_bytes(path);
  std::atomic<bool> cancel{true};
  test::expect_throw<Cancelled>([&] { train_model(synthetic_set(3), quick_options(), path, {}, &cancel); }, "cancelled");
  ck_assert(test::read_bytes(path) == before);
}
END_TEST

START_TEST(bad_training_inputs_n) {
  const TrainingSet one = synthetic_set(1), three = synthetic_set(3);
  test::expect_throw<InvalidArgument>([&] { train_model(one, quick_options(), folder + "/x.efad"); }, "at least 2 normal images");
  TrainOptions o = quick_options();
  o.steps = 0;
  test::expect_throw<InvalidArgument>([&] { train_model(three, o, folder + "/x.efad"); }, "at least 1");
  o = quick_options();
  o.validation_fraction = 0.9;
  test::expect_throw<InvalidArgument>([&] { train_model(three, o, folder + "/x.efad"); }, "held-out fraction");
  o = quick_options();
  o.geometry.input_width = 320;
  test::expect_throw<InvalidArgument>([&] { train_model(three, o, folder + "/x.efad"); }, "prepared for 256x256");
  o = quick_options();
  o.geometry.input_width = 100;
  test::expect_throw<InvalidArgument>([&] { train_model(three, o, folder + "/x.efad"); }, "out of range");
  bool progressed = false;
  test::expect_throw<IoError>([&] { train_model(three, quick_options(), folder + "/missing/x.efad", [&](auto&) { progressed = true; }); },
                        "does not exist");
  ck_assert_msg(!progressed, "an unwritable output must be reported before any work");
  o = quick_options();
  o.device = Device::Cuda;
  if (core::resolve_device(Device::Auto) == Device::Cpu) {
    test::expect_throw<DeviceError>([&] { train_model(three, o, folder + "/x.efad"); }, "cuda");
  }
  ck_assert_uint_eq(files_in(folder), 0);
}
END_TEST

START_TEST(bad_teacher_and_penalty_files_n) {
  const TrainingSet set = synthetic_set(3);
  TrainOptions o = quick_options();
  o.teacher_path = folder + "/absent.efad";
  test::expect_throw<ModelFileError>([&] { train_model(set, o, folder + "/x.efad"); }, "not found");
  core::save_teacher(folder + "/teacher_m.efad", core::make_pdn(Variant::Medium, 384, false), "test");
  o.teacher_path = folder + "/teacher_m.efad";
  test::expect_throw<ModelFileError>([&] { train_model(set, o, folder + "/x.efad"); }, "EfficientAD-M teacher");
  test::write_random_model(folder + "/model.efad", ModelGeometry{});
  o.teacher_path = folder + "/model.efad";
  test::expect_throw<ModelFileError>([&] { train_model(set, o, folder + "/x.efad"); }, "not a teacher file");
  o = quick_options();
  fs::create_directories(folder + "/empty");
  o.penalty_folder = folder + "/empty";
  test::expect_throw<InvalidArgument>([&] { train_model(set, o, folder + "/x.efad"); }, "no images in the penalty");
  ck_assert(!fs::exists(folder + "/x.efad"));
}
END_TEST

START_TEST(teacher_file_is_used) {
  core::Pdn teacher = core::make_pdn(Variant::Small, 384, false);
  core::save_teacher(folder + "/teacher.efad", teacher, "unit test teacher");
  TrainOptions o = quick_options();
  o.teacher_path = folder + "/teacher.efad";
  std::vector<std::string> warnings;
  const TrainResult r = train_model(synthetic_set(3), o, folder + "/m.efad", {}, nullptr,
                                    [&](const std::string& w) { warnings.push_back(w); });
  ck_assert(warnings.empty());
  ck_assert(!r.info.provenance.teacher_random);
  ck_assert(std::strstr(r.info.provenance.teacher_origin.c_str(), "teacher.efad"));
  ck_assert(std::strstr(r.info.provenance.teacher_origin.c_str(), "unit test teacher"));
  const auto m = core::load_model(folder + "/m.efad");
  ck_assert(at::equal(m.nets.teacher.layers[1].weight, teacher.layers[1].weight));
}
END_TEST

START_TEST(training_set_inputs_n) {
  TrainingSet set(256, 256);
  test::expect_throw<ImageError>([&] { set.add(ImageView{}); }, "empty image");
  fs::create_directories(folder + "/empty");
  test::write_bytes(folder + "/empty/readme.txt", {'h', 'i'});
  test::expect_throw<InvalidArgument>([&] { set.add_folder(folder + "/empty"); }, "no images");
  test::expect_throw<InvalidArgument>([&] { set.add_folder(folder + "/nope"); }, "not found");
  fs::create_directories(folder + "/bad");
  save_png(folder + "/bad/a.png", test::textured_image(40, 30, 1).view());
  test::write_bytes(folder + "/bad/b.png", {0x89, 'P', 'N', 'G', 0x0D, 0x0A});
  test::expect_throw<ImageError>([&] { set.add_folder(folder + "/bad"); }, "b.png");
  test::expect_throw<InvalidArgument>([&] { TrainingSet tiny(64, 64); }, "out of range");
}
END_TEST

START_TEST(aspect_preserving_input_sizes) {
  struct Case { double aspect; int64_t pixels; int width, height; };
  const Case cases[] = {{1.0, 65536, 256, 256},    {1.5625, 65536, 400, 256}, {0.863, 65536, 256, 296},
                        {2.5, 65536, 640, 256},    {1.0, 512 * 512, 512, 512}, {1.5625, 400 * 400, 504, 320},
                        {20.0, 65536, 2048, 256},  {0.05, 65536, 256, 2048}};
  for (const Case& c : cases) {
    int w = 0, h = 0;
    aspect_preserving_input(c.aspect, c.pixels, w, h);
    ck_assert_msg(w == c.width && h == c.height, "aspect %.4f at %lld px: %dx%d, expected %dx%d", c.aspect,
                  (long long)c.pixels, w, h, c.width, c.height);
  }
  // choose_input_size reads the folder's images: 3 of 120x80 and 2 of 80x80 have the median 1.5.
  fs::create_directories(folder + "/mixed");
  for (int i = 0; i < 5; ++i) {
    save_png(folder + "/mixed/" + std::to_string(i) + ".png", test::textured_image(i < 3 ? 120 : 80, 80, i).view());
  }
  TrainOptions o;
  ck_assert(choose_input_size(o, {folder + "/mixed"}) == 0.0);  // off by default: the geometry stays
  ck_assert_int_eq(o.geometry.input_width, 256);
  o.aspect_input_pixels = 65536;
  ck_assert(std::fabs(choose_input_size(o, {folder + "/mixed"}) - 1.5) < 1e-9);
  ck_assert_int_eq(o.geometry.input_width, 384);
  ck_assert_int_eq(o.geometry.input_height, 256);
}
END_TEST

START_TEST(aspect_preserving_input_refusals_n) {
  int w = 0, h = 0;
  test::expect_throw<InvalidArgument>([&] { aspect_preserving_input(0.0, 65536, w, h); }, "positive aspect");
  test::expect_throw<InvalidArgument>([&] { aspect_preserving_input(std::nan(""), 65536, w, h); }, "positive aspect");
  test::expect_throw<InvalidArgument>([&] { aspect_preserving_input(1.0, 0, w, h); }, "pixel budget");
  TrainOptions o;
  o.aspect_input_pixels = 65536;
  fs::create_directories(folder + "/none");
  test::expect_throw<InvalidArgument>([&] { choose_input_size(o, {folder + "/none"}); }, "no images");
  test::expect_throw<InvalidArgument>([&] { choose_input_size(o, {folder + "/absent"}); }, "not found");
}
END_TEST

// Resident memory in MB (/proc/self/statm counts pages the process maps, not the page cache behind a file).
double resident_mb() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  ck_assert(f && std::fscanf(f, "%ld %ld", &pages, &resident) == 2);
  std::fclose(f);
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

START_TEST(training_images_wait_on_disk_not_in_memory) {
  const Image part = render_synthetic_part(256, 7, "", nullptr);
  TrainingSet set(256, 256, folder);
  set.add(part.view());
  const double before = resident_mb();
  for (int i = 0; i < 1500; ++i) set.add(part.view());  // 288 MB of input-size pixels
  const double growth = resident_mb() - before;
  std::printf("1500 images (288 MB of pixels): resident memory grew by %.1f MB\n", growth);
  ck_assert_msg(growth < 32, "resident memory grew by %.1f MB", growth);
  ck_assert_uint_eq(set.size(), 1501);
  const Image back = set.image(1234);
  ck_assert(std::memcmp(back.data(), part.data(), part.size_bytes()) == 0);
  ck_assert_str_eq(set.name(1500).c_str(), "frame 1501");
  ck_assert_uint_eq(files_in(folder), 0);  // the file is unlinked at creation: nothing to clean up
}
END_TEST

// A full disk (here: the process's file size limit) stops adding images with an error that says what to do, keeps
// what was added, and training on the folder writes no model.
START_TEST(full_disk_is_a_clear_error_n) {
  const Image part = render_synthetic_part(256, 8, "", nullptr);
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, SIG_IGN);  // the write then fails with EFBIG instead of killing the process
  const rlimit small{5 * 256 * 256 * 3 + 1000, old.rlim_max};
  TrainingSet set(256, 256, folder);
  setrlimit(RLIMIT_FSIZE, &small);
  for (int i = 0; i < 5; ++i) set.add(part.view());
  test::expect_throw<IoError>([&] { set.add(part.view()); }, "free disk space");
  test::expect_throw<IoError>([&] { set.add(part.view()); }, "training image 6");
  TrainOptions o = quick_options();
  test::expect_throw<IoError>([&] { train_model(set, o, folder + "/m.efad"); }, "m.efad");
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, SIG_DFL);
  ck_assert(!fs::exists(folder + "/m.efad"));
  ck_assert_uint_eq(files_in(folder), 0);
  ck_assert_uint_eq(set.size(), 5);
  ck_assert(std::memcmp(set.image(4).data(), part.data(), part.size_bytes()) == 0);
  test::expect_throw<IoError>([&] { TrainingSet nowhere(256, 256, folder + "/missing"); }, "does not exist");
}
END_TEST

int main() {
  return test::run_cases("trainer", {
      {"positive", TESTS(trains_and_writes_a_complete_model, int8_threshold_comes_from_the_maps_fast_mode_computes,
                   same_seed_same_model, optimised_step_equals_reference_step,
                   fast_step_close_to_exact_step, penalty_images_are_used_and_bad_ones_skipped,
                   dead_leaves_penalty_is_used, teacher_file_is_used,
                   training_images_wait_on_disk_not_in_memory, aspect_preserving_input_sizes),
       0, setup, teardown, true},
      {"negative", TESTS(cancel_writes_nothing_n, cancel_keeps_previous_model_n, bad_training_inputs_n,
                   bad_teacher_and_penalty_files_n, training_set_inputs_n, full_disk_is_a_clear_error_n,
                   aspect_preserving_input_refusals_n), 0, setup, teardown, true},
  }, test::Fork::None);
}
