// Teacher distillation (Algorithm 3) with a small TorchScript backbone made here: the loss falls, a run stopped
// and resumed ends with exactly the weights of an uninterrupted one, the teacher file is usable for training,
// and bad options, backbones and checkpoints give clear errors without writing a teacher.
#include "check_compat.h"

#include <torch/script.h>

#include <filesystem>

#include "efficientad/distillation.h"
#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "model/model_file.h"

#include "test_helpers.h"

using namespace efficientad;
namespace fs = std::filesystem;

namespace {

std::string root, images, backbone_file;

// A fixed random "backbone": 8 x 8 average pooling then a 1x1 convolution to 384 channels, so 512 x 512 images
// give 64 x 64 cells, as PatchCore's features.
void make_fixtures() {
  root = test::temp_folder("distill");
  images = root + "/images";
  fs::create_directories(images);
  for (unsigned i = 0; i < 6; ++i) save_png(images + "/" + std::to_string(i) + ".png", test::textured_image(300, 220, i).view());
  torch::jit::Module m("Backbone");
  at::manual_seed(3);
  m.register_parameter("weight", at::randn({384, 3, 1, 1}), false);
  m.define(R"(
    def forward(self, x):
        return torch.relu(torch.conv2d(torch.avg_pool2d(x, 8), self.weight))
  )");
  backbone_file = root + "/backbone.pt";
  m.save(backbone_file);
}

DistillOptions small_options() {
  DistillOptions o;
  o.backbone = "torchscript:" + backbone_file;
  o.image_folder = images;
  o.steps = 12;
  o.batch = 2;
  o.crop = 64;
  o.precision = Precision::Exact;  // fp32: bit-reproducible for the resume test
  o.normalisation_draws = 200;
  o.checkpoint_every = 100;
  return o;
}

std::vector<at::Tensor> teacher_weights(const std::string& path) {
  std::vector<at::Tensor> out;
  for (const auto& c : efficientad::detail::load_teacher(path, Variant::Small, false).teacher.layers) {
    out.push_back(c.weight);
    out.push_back(c.bias);
  }
  return out;
}

}  // namespace

START_TEST(loss_falls_and_the_teacher_trains_a_model) {
  DistillOptions o = small_options();
  o.steps = 40;
  o.precision = Precision::Fast;
  std::vector<float> losses;
  const std::string out = root + "/falls.efad";
  const DistillResult r = distill_teacher(o, out, [&](const DistillProgress& p) {
    if (p.phase == DistillProgress::Phase::Training) losses.push_back(p.loss);
  });
  ck_assert_int_eq(int(r.steps), 40);
  ck_assert_int_eq(int(r.images), 6);
  ck_assert_int_eq(int(losses.size()), 40);
  ck_assert_msg(losses.back() < 0.8f * losses.front(), "loss %g -> %g", losses.front(), losses.back());
  ck_assert(r.origin.find("distilled (Algorithm 3)") != std::string::npos);

  TrainingSet set(256, 256);
  set.add_folder(images);
  TrainOptions t;
  t.steps = 2;
  t.teacher_path = out;
  const TrainResult trained = train_model(set, t, root + "/model.efad");
  ck_assert(!trained.info.provenance.teacher_random);
  ck_assert(trained.info.provenance.teacher_origin.find("distilled") != std::string::npos);
}
END_TEST

START_TEST(resumed_run_equals_an_uninterrupted_one) {
  const DistillOptions o = small_options();
  distill_teacher(o, root + "/straight.efad");

  // Stop after 5 steps (as Ctrl-C would), then run the same command again.
  std::atomic<bool> cancel{false};
  const std::string out = root + "/resumed.efad";
  test::expect_throw<Cancelled>([&] {
    distill_teacher(o, out, [&](const DistillProgress& p) { cancel = p.phase == DistillProgress::Phase::Training && p.step >= 5; },
                    &cancel);
  }, "checkpoint saved");
  ck_assert(!fs::exists(out));
  ck_assert(fs::exists(out + ".checkpoint"));
  const DistillResult r = distill_teacher(o, out);
  ck_assert_int_eq(int(r.resumed_at), 5);  // the flag set after step 5 is seen before step 6
  const auto a = teacher_weights(root + "/straight.efad"), b = teacher_weights(out);
  for (size_t i = 0; i < a.size(); ++i) ck_assert_msg(at::equal(a[i], b[i]), "tensor %zu differs", i);

  // A finished run extends with more steps; fewer than done is refused.
  DistillOptions more = o;
  more.steps = 14;
  ck_assert_int_eq(int(distill_teacher(more, out).resumed_at), 12);
  more.steps = 10;
  test::expect_throw<InvalidArgument>([&] { distill_teacher(more, out); }, "beyond the 10 steps");
}
END_TEST

START_TEST(refuses_bad_options_and_backbones_n) {
  const std::string out = root + "/bad.efad";
  auto with = [&](auto change) {
    DistillOptions o = small_options();
    change(o);
    return o;
  };
  test::expect_throw<InvalidArgument>([&] { distill_teacher(with([](auto& o) { o.crop = 66; }), out); }, "multiple of 4");
  test::expect_throw<InvalidArgument>([&] { distill_teacher(with([](auto& o) { o.crop = 32; }), out); }, "multiple of 4");
  test::expect_throw<InvalidArgument>([&] { distill_teacher(with([](auto& o) { o.batch = 0; }), out); }, "batch");
  test::expect_throw<InvalidArgument>([&] { distill_teacher(with([](auto& o) { o.steps = 0; }), out); }, "steps");
  test::expect_throw<InvalidArgument>([&] { distill_teacher(with([](auto& o) { o.backbone = "resnet:x"; }), out); },
                                      "torchscript:FILE");
  test::expect_throw<ModelFileError>(
      [&] { distill_teacher(with([&](auto& o) { o.backbone = "torchscript:" + root + "/none.pt"; }), out); },
      "not a TorchScript module");
  test::write_bytes(root + "/junk.pt", {1, 2, 3, 4});
  test::expect_throw<ModelFileError>(
      [&] { distill_teacher(with([&](auto& o) { o.backbone = "torchscript:" + root + "/junk.pt"; }), out); },
      "not a TorchScript module");
  torch::jit::Module flat("Flat");
  flat.define("def forward(self, x):\n    return x.mean(1)\n");
  flat.save(root + "/flat.pt");
  test::expect_throw<ModelFileError>(
      [&] { distill_teacher(with([&](auto& o) { o.backbone = "torchscript:" + root + "/flat.pt"; }), out); },
      "one [N, C, h, w] feature map");
  test::expect_throw<InvalidArgument>([&] { distill_teacher(with([](auto& o) { o.backbone_scale = 0; }), out); },
                                      "backbone scale must be 1 to 4");
  test::expect_throw<InvalidArgument>([&] { distill_teacher(with([](auto& o) { o.backbone_scale = 5; }), out); },
                                      "backbone scale must be 1 to 4");
  test::expect_throw<InvalidArgument>([&] { distill_teacher(with([](auto& o) { o.layers = {"mixed0"}; }), out); },
                                      "nsfwjs backbones only");
  fs::create_directories(root + "/empty");
  test::expect_throw<InvalidArgument>([&] { distill_teacher(with([&](auto& o) { o.image_folder = root + "/empty"; }), out); },
                                      "no images");
  test::expect_throw<IoError>([&] { distill_teacher(small_options(), root + "/no/such/folder/t.efad"); }, "");
  ck_assert(!fs::exists(out));
}
END_TEST

START_TEST(refuses_foreign_and_corrupt_checkpoints_n) {
  const std::string out = root + "/ckpt.efad";
  DistillOptions o = small_options();
  o.steps = 3;
  distill_teacher(o, out);
  fs::remove(out);
  DistillOptions other = o;
  other.crop = 96;  // other settings: resuming would mix two runs
  test::expect_throw<ModelFileError>([&] { distill_teacher(other, out); }, "other settings");
  other = o;
  other.backbone_scale = 1;  // other targets: the backbone sees the images at 256 x 256
  test::expect_throw<ModelFileError>([&] { distill_teacher(other, out); }, "at 256 px");
  std::vector<uint8_t> bytes = test::read_bytes(out + ".checkpoint");
  bytes.resize(bytes.size() / 2);
  test::write_bytes(out + ".checkpoint", bytes);
  test::expect_throw<ModelFileError>([&] { distill_teacher(o, out); }, "unreadable or incomplete");
  test::write_bytes(out + ".checkpoint", {});
  test::expect_throw<ModelFileError>([&] { distill_teacher(o, out); }, "--restart");
  ck_assert(!fs::exists(out));
  o.restart = true;  // starts over and replaces the checkpoint
  ck_assert_int_eq(int(distill_teacher(o, out).resumed_at), 0);
  ck_assert(fs::exists(out));
}
END_TEST

int main() {
  return test::run_cases("distillation", {
      {"distillation", TESTS(loss_falls_and_the_teacher_trains_a_model, resumed_run_equals_an_uninterrupted_one,
                   refuses_bad_options_and_backbones_n, refuses_foreign_and_corrupt_checkpoints_n), 600, make_fixtures, nullptr},
  }, test::Fork::None);
}
