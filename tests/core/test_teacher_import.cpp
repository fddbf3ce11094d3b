// Importing PyTorch teacher files: files made by Debian's Python torch (tests/make_pth_fixtures.py, the same
// nn.Sequential state dicts as the reference implementation's teacher_small.pth / teacher_medium.pth) must arrive
// tensor for tensor; malformed ones must give a ModelFileError that names the problem, never a crash.
#include "check_compat.h"

#include <cstdlib>
#include <filesystem>
#include <string>

#include "efficientad/errors.h"
#include "efficientad/teacher.h"
#include "model/model_file.h"

#include "test_helpers.h"

using namespace efficientad;

namespace {

std::string fixtures;  // folder of .pth files, made once

void make_fixtures() {
  fixtures = test::temp_folder("pth-fixtures");
  const std::string command = std::string("/usr/bin/python3 ") + TEST_SOURCE_DIR "/scripts/make_pth_fixtures.py " + fixtures;
  ck_assert_msg(std::system(command.c_str()) == 0,
                "cannot make the PyTorch fixtures: install python3-torch (sudo .ci/install-deps)");
}

// Imports, loads the teacher file back and compares every tensor with the float32 dump Python wrote.
void check_import(const std::string& name, Variant variant, int tensors, double tolerance) {
  const std::string out = fixtures + "/" + name + ".efad";
  const ImportedTeacher t = import_pytorch_teacher(fixtures + "/" + name + ".pth", out);
  ck_assert_int_eq(int(t.variant), int(variant));
  ck_assert_int_eq(t.tensors, tensors);
  const efficientad::detail::LoadedTeacher loaded = efficientad::detail::load_teacher(out, variant, false);
  const std::vector<uint8_t> expected = test::read_bytes(fixtures + "/" + name + ".bin");
  size_t offset = 0;
  for (const efficientad::detail::Conv& layer : loaded.teacher.layers) {
    for (const at::Tensor& tensor : {layer.weight, layer.bias}) {
      const size_t bytes = size_t(tensor.numel()) * sizeof(float);
      ck_assert_uint_le(offset + bytes, expected.size());
      const at::Tensor reference = at::from_blob(const_cast<uint8_t*>(expected.data() + offset), {tensor.numel()}, at::kFloat);
      ck_assert_double_le((tensor.flatten() - reference).abs().max().item<double>(), tolerance);
      offset += bytes;
    }
  }
  ck_assert_uint_eq(offset, expected.size());
  ck_assert_msg(loaded.origin.find(name + ".pth") != std::string::npos, "origin '%s'", loaded.origin.c_str());
}

void expect_refused(const std::string& name, const char* needle) {
  const std::string out = fixtures + "/refused.efad";
  test::expect_throw<ModelFileError>([&] { import_pytorch_teacher(fixtures + "/" + name + ".pth", out); }, needle);
  ck_assert_msg(!std::filesystem::exists(out), "a refused import wrote %s", out.c_str());
}

}  // namespace

START_TEST(imports_small_and_medium_exactly) {
  check_import("teacher_small", Variant::Small, 8, 0.0);
  check_import("teacher_medium", Variant::Medium, 12, 0.0);
}
END_TEST

START_TEST(records_the_given_origin) {
  const std::string out = fixtures + "/with_origin.efad";
  import_pytorch_teacher(fixtures + "/teacher_small.pth", out, "distilled on a GPU, 1000 steps");
  const std::string origin = efficientad::detail::load_teacher(out, Variant::Small, false).origin;
  ck_assert_msg(origin.find("distilled on a GPU, 1000 steps; imported from teacher_small.pth") != std::string::npos,
                "origin '%s'", origin.c_str());
}
END_TEST

START_TEST(refuses_a_multi_line_origin_n) {
  const std::string out = fixtures + "/multi_line.efad";
  test::expect_throw<InvalidArgument>([&] { import_pytorch_teacher(fixtures + "/teacher_small.pth", out, "a\nb"); },
                                      "one line");
  ck_assert_msg(!std::filesystem::exists(out), "a refused import wrote %s", out.c_str());
}
END_TEST

START_TEST(imports_dataparallel_and_half_precision) {
  check_import("dataparallel", Variant::Small, 8, 0.0);
  check_import("half", Variant::Small, 8, 0.0);  // fp16 values are exact in fp32
}
END_TEST

START_TEST(refuses_malformed_files_n) {
  expect_refused("whole_module", "save model.state_dict()");
  expect_refused("legacy", "non-zip");
  expect_refused("wrong_shape", "'6.weight' has shape [256, 256, 5, 5]");
  expect_refused("missing_bias", "'8.bias' is missing");
  expect_refused("wrong_layer_count", "holds 3 layers");
  expect_refused("nan", "not a finite");
  expect_refused("student", "[768, 256, 4, 4]");
  expect_refused("foreign_keys", "unexpected entry 'backbone.conv1.weight'");
  expect_refused("truncated", "not a readable torch.save archive");
  expect_refused("not_pytorch", "not a PyTorch file");
  expect_refused("no_such_file", "not found");
}
END_TEST

// What a hostile probe found: each crashed the reader (stack overflow) or ran it out of memory before.
START_TEST(refuses_hostile_pickles_n) {
  expect_refused("deep_nesting", "nested more than 64 deep");
  expect_refused("self_dict", "a dict contains itself");
  expect_refused("expanded", "a tensor with more than");
  expect_refused("marks_only", "stack underflow");
}
END_TEST

START_TEST(byte_flips_never_crash_n) {
  // Flip bytes all over a good file (zip headers, the pickle, tensor data): each import either succeeds or fails
  // with a ModelFileError.
  const std::vector<uint8_t> good = test::read_bytes(fixtures + "/teacher_small.pth");
  int refused = 0;
  for (size_t position = 0; position < 1200; position += 7) {
    std::vector<uint8_t> bad = good;
    bad[position] ^= 0x5a;
    test::write_bytes(fixtures + "/flipped.pth", bad);
    try {
      import_pytorch_teacher(fixtures + "/flipped.pth", fixtures + "/flipped.efad");
    } catch (const ModelFileError&) {
      refused++;
    }
  }
  ck_assert_int_gt(refused, 0);
}
END_TEST

int main() {
  return test::run_cases("teacher_import", {
      {"teacher_import", TESTS(imports_small_and_medium_exactly, records_the_given_origin, imports_dataparallel_and_half_precision,
                               refuses_a_multi_line_origin_n,
                               refuses_malformed_files_n, refuses_hostile_pickles_n, byte_flips_never_crash_n),
       300, make_fixtures, nullptr},
  }, test::Fork::None);
}
