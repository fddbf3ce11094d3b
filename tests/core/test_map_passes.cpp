// Batches in passes: a batch larger than a pass's memory allows runs in passes of equal size that cover every
// image once in the result, the pass size follows the input size, and maps computed in passes equal the maps of
// each image alone (fast int8 and exact); empty batches and passes without room are refused.
#include <ATen/ATen.h>

#include <cstdio>

#include "check_compat.h"
#include "common/tensor_memory.h"
#include "efficientad/errors.h"
#include "inference/map_computer.h"
#include "model/networks.h"
#include "random_networks.h"
#include "test_helpers.h"

using namespace efficientad;
namespace core = efficientad::detail;

START_TEST(passes_cover_the_batch_in_equal_sizes) {
  struct Case {
    int64_t count, most, size;
    std::vector<int64_t> starts;
  };
  const Case cases[] = {{1, 16, 1, {0}},      {16, 16, 16, {0}},  {17, 16, 9, {0, 8}},
                        {16, 10, 8, {0, 8}},  {5, 4, 3, {0, 2}},  {3, 1, 1, {0, 1, 2}}};
  for (const Case& c : cases) {
    const core::Passes p = core::plan_passes(c.count, c.most);
    ck_assert_msg(p.size == c.size && p.starts == c.starts, "%lld images, at most %lld: size %lld, %zu passes",
                  (long long)c.count, (long long)c.most, (long long)p.size, p.starts.size());
    ck_assert(p.size <= c.most);
    ck_assert_int_eq(p.starts.back() + p.size, c.count);  // the last pass ends with the batch, none after it
  }
}
END_TEST

START_TEST(pass_size_follows_the_input_size) {
  const auto per_pass = [](Variant v, int side) {
    core::Networks nets;  // the geometry and the teacher's layers are all it reads
    nets.geometry = ModelGeometry{v, side, side, false};
    nets.teacher = core::make_pdn(v, core::kTeacherChannels, false);
    return core::images_per_pass(nets);
  };
  // S's first layer writes 128 fp32 channels: 64 MB (and a copy) per 256x256 image.
  ck_assert_int_eq(per_pass(Variant::Small, 256), 16);
  ck_assert_int_eq(per_pass(Variant::Small, 512), 4);
  ck_assert_int_eq(per_pass(Variant::Small, 1024), 1);
  ck_assert_int_eq(per_pass(Variant::Small, 2048), 1);  // one image even where it alone exceeds the budget
  ck_assert_int_eq(per_pass(Variant::Medium, 256), 8);  // M's first layer has twice the channels
}
END_TEST

START_TEST(maps_in_passes_equal_each_image_alone) {
  core::reuse_tensor_memory();  // as a Detector does: fresh pages for every 512x512 activation took most of the time
  const core::Networks nets = test::random_networks(ModelGeometry{Variant::Small, 512, 512, false}, 3);
  const at::Tensor pixels = at::randint(0, 256, {5, 512, 512, 3}, at::kByte);
  for (const Mode mode : {Mode::Fast, Mode::Exact}) {
    const core::MapComputer computer(nets, mode, Device::Cpu);
    ck_assert_int_eq(computer.images_per_pass(), 4);  // 5 images: two passes of 3, the second from image 2
    const core::RawMaps batch = computer.compute(pixels);
    ck_assert_int_eq(batch.st.size(0), 5);
    ck_assert_int_eq(batch.ae.size(0), 5);
    for (int64_t i = 0; i < 5; ++i) {
      const core::RawMaps alone = computer.compute(pixels.narrow(0, i, 1));
      const double st = (batch.st[i] - alone.st[0]).abs().max().item<double>() / alone.st.abs().max().item<double>();
      const double ae = (batch.ae[i] - alone.ae[0]).abs().max().item<double>() / alone.ae.abs().max().item<double>();
      ck_assert_msg(st < 1e-5 && ae < 1e-5, "%s, image %lld: maps differ by %g / %g",
                    mode == Mode::Fast ? "fast" : "exact", (long long)i, st, ae);
    }
  }
}
END_TEST

START_TEST(empty_batches_are_refused_n) {
  for (const int64_t count : {0, -1}) {
    test::expect_throw<InvalidArgument>([&] { core::plan_passes(count, 4); }, "must be at least 1");
  }
}
END_TEST

START_TEST(passes_without_room_are_refused_n) {
  for (const int64_t most : {0, -3}) {
    test::expect_throw<InvalidArgument>([&] { core::plan_passes(8, most); }, "must be at least 1");
  }
}
END_TEST

START_TEST(computing_no_image_is_refused_n) {
  const core::MapComputer fast(test::random_networks(ModelGeometry{}, 2), Mode::Fast, Device::Cpu);
  const at::Tensor none = at::zeros({0, 256, 256, 3}, at::kByte);
  test::expect_throw<InvalidArgument>([&] { fast.compute(none); }, "0 images");
}
END_TEST

int main() {
  return test::run_cases("map_passes", {
      {"positive", TESTS(passes_cover_the_batch_in_equal_sizes, pass_size_follows_the_input_size,
                         maps_in_passes_equal_each_image_alone), 300},
      {"negative", TESTS(empty_batches_are_refused_n, passes_without_room_are_refused_n,
                         computing_no_image_is_refused_n), 120},
  }, test::Fork::None);
}
