// Model and teacher files end to end: round trip of every tensor and header entry, and rejection of files that
// are damaged, of another kind or variant, or internally inconsistent. Never a crash, always a named problem.
#include <ATen/ATen.h>
#include "check_compat.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "model/container.h"
#include "efficientad/errors.h"
#include "efficientad/model.h"
#include "model/model_file.h"
#include "inference/map_computer.h"
#include "model/model_format.h"
#include "test_helpers.h"

using namespace efficientad;
using namespace efficientad::detail;

namespace {

std::string folder, model_path;

void setup() {
  folder = test::temp_folder("modelfile");
  model_path = folder + "/m.efad";
  test::write_random_model(model_path, ModelGeometry{Variant::Small, 320, 256, false});
}
void teardown() { std::filesystem::remove_all(folder); }

// Writes an edited copy of the model container and expects loading it to fail naming `needle`.
void expect_edit_rejected(const std::function<void(Container&)>& edit, const char* needle) {
  Container c = read_container(model_path);
  edit(c);
  const std::string path = folder + "/edited.efad";
  write_container(path, c);
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (attempt == 0) {
        read_model_info(path);
      } else {
        load_model(path);
      }
      ck_abort_msg("edited model accepted (expected '%s')", needle);
    } catch (const ModelFileError& e) {
      ck_assert_msg(std::strstr(e.what(), needle), "'%s' lacks '%s'", e.what(), needle);
    }
  }
}

TensorRecord& tensor(Container& c, const std::string& name) {
  for (auto& t : c.tensors) {
    if (t.name == name) return t;
  }
  ck_abort_msg("no tensor %s", name.c_str());
  return c.tensors.front();
}

}  // namespace

START_TEST(round_trip_keeps_everything) {
  const LoadedModel a = load_model(model_path);
  ck_assert_int_eq(a.info.geometry.input_width, 320);
  ck_assert_uint_eq(a.info.format_version, 1);
  ck_assert_uint_eq(a.info.model_id.size(), 16);
  save_model(folder + "/copy.efad", a.nets, a.info);
  const LoadedModel b = load_model(folder + "/copy.efad");
  ck_assert_str_eq(a.info.model_id.c_str(), b.info.model_id.c_str());  // same content, same id
  for (size_t i = 0; i < a.nets.student.layers.size(); ++i) {
    ck_assert(at::equal(a.nets.student.layers[i].weight, b.nets.student.layers[i].weight));
  }
  ck_assert(at::equal(a.nets.autoencoder.decoder[7].bias, b.nets.autoencoder.decoder[7].bias));
  ck_assert(at::equal(a.nets.teacher_std, b.nets.teacher_std));
  ck_assert(at::equal(a.nets.student_activation_max, b.nets.student_activation_max));
  ck_assert_int_eq(b.nets.decoder_activation_max.numel(), 7 * 64);  // the int8 decoder's calibration
  ck_assert(at::equal(a.nets.decoder_activation_max, b.nets.decoder_activation_max));
  ck_assert(b.info.int8_decoder);
  ck_assert(std::strstr(describe(b.info).c_str(), "int8 decoder:      calibrated"));
  ck_assert_float_eq(a.info.quantiles.ae_b, b.info.quantiles.ae_b);
  ck_assert_float_eq(a.info.threshold, b.info.threshold);
  ck_assert_str_eq(a.info.provenance.teacher_origin.c_str(), b.info.provenance.teacher_origin.c_str());
  ck_assert(std::strstr(describe(b.info).c_str(), "EfficientAD-S"));
  for (const auto& [images, dead_leaves, text] : {std::tuple{int64_t(0), false, "penalty off,"},
                                                  {int64_t(0), true, "penalty dead-leaves images,"},
                                                  {int64_t(1000), false, "penalty 1000 natural images,"}}) {
    ModelInfo penalty = a.info;
    penalty.provenance.penalty_images = images;
    penalty.provenance.penalty_dead_leaves = dead_leaves;
    save_model(folder + "/penalty.efad", a.nets, penalty);
    const ModelInfo read = read_model_info(folder + "/penalty.efad");
    ck_assert_int_eq(read.provenance.penalty_dead_leaves, dead_leaves);
    ck_assert_msg(std::strstr(describe(read).c_str(), text), "info lacks '%s'", text);
  }
  // A model without an int8 threshold (older builds) keeps having none; one with it keeps its value.
  ck_assert(!b.info.int8_threshold);
  ck_assert(std::strstr(describe(b.info).c_str(), "int8 threshold:    none recorded"));
  ModelInfo with_int8 = a.info;
  with_int8.int8_threshold = 0.25f;
  with_int8.int8_validation = {0.1f, 0.02f, 0.21f};
  save_model(folder + "/int8.efad", a.nets, with_int8);
  const ModelInfo c = read_model_info(folder + "/int8.efad");
  ck_assert(c.int8_threshold && *c.int8_threshold == 0.25f);
  ck_assert_float_eq(c.int8_validation.max, 0.21f);
  ck_assert(std::strstr(describe(c).c_str(), "int8 threshold:    0.25"));
}
END_TEST

START_TEST(teacher_round_trip) {
  const LoadedModel m = load_model(model_path);
  save_teacher(folder + "/t.efad", m.nets.teacher, "made in a test");
  const LoadedTeacher t = load_teacher(folder + "/t.efad", Variant::Small, true);
  ck_assert(t.teacher.padding);
  ck_assert(at::equal(t.teacher.layers[3].weight, m.nets.teacher.layers[3].weight));
  ck_assert(std::strstr(t.origin.c_str(), "made in a test"));
}
END_TEST

START_TEST(truncated_and_flipped_model_files_n) {
  const auto bytes = test::read_bytes(model_path);
  const std::string path = folder + "/damaged.efad";
  for (size_t length : {size_t(0), size_t(7), size_t(19), size_t(100), bytes.size() / 3, bytes.size() - 5, bytes.size() - 1}) {
    test::write_bytes(path, std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(length)));
    try {
      load_model(path);
      ck_abort_msg("truncation to %zu bytes accepted", length);
    } catch (const ModelFileError&) {
    }
  }
  for (size_t i = 0; i < 40; ++i) {
    std::vector<uint8_t> flipped = bytes;
    flipped[(i * 7919 * 104729) % bytes.size()] ^= uint8_t(1u << (i % 8));
    test::write_bytes(path, flipped);
    try {
      load_model(path);
      ck_abort_msg("flip %zu accepted", i);
    } catch (const ModelFileError&) {
    }
  }
}
END_TEST

START_TEST(wrong_shapes_and_tensors_n) {
  expect_edit_rejected(
      [](Container& c) {
        auto& t = tensor(c, "student.conv4.weight");
        t.shape = {384, 256, 4, 4};
        t.values.resize(384 * 256 * 16);
      },
      "has shape");
  expect_edit_rejected(
      [](Container& c) {
        auto& t = tensor(c, "teacher.conv1.weight");
        t.shape = {128, 3, 2, 8};
      },
      "needs 128x3x4x4");
  expect_edit_rejected(
      [](Container& c) {
        c.tensors.erase(std::find_if(c.tensors.begin(), c.tensors.end(),
                                     [](const TensorRecord& t) { return t.name == "teacher_mean"; }));
      },
      "'teacher_mean' is missing");
  expect_edit_rejected(  // optional, but when present per channel of dec1..dec7
      [](Container& c) {
        auto& t = tensor(c, "autoencoder.activation_max");
        t.shape = {7};
        t.values.resize(7);
      },
      "'autoencoder.activation_max' has shape 7 but an EfficientAD-S model needs 448");
  expect_edit_rejected(  // neither per channel (640) nor per layer (3)
      [](Container& c) {
        auto& t = tensor(c, "teacher.activation_max");
        t.shape = {5};
        t.values.resize(5);
      },
      "'teacher.activation_max' has shape 5 but an EfficientAD-S model needs 640");
  expect_edit_rejected([](Container& c) { c.tensors.push_back({"extra", {1}, {1.0f}}); }, "unexpected tensor");
  expect_edit_rejected([](Container& c) { c.header["variant"] = "M"; }, "EfficientAD-M model");
}
END_TEST

// Models written before per-channel calibration hold one activation maximum per hidden layer: still loaded, and
// their int8 networks compile with that range on every channel.
START_TEST(per_layer_activation_maxima_still_load) {
  Container c = read_container(model_path);
  for (const char* name : {"teacher.activation_max", "student.activation_max"}) {
    TensorRecord& t = tensor(c, name);
    ck_assert_uint_eq(t.values.size(), 128 + 256 + 256);  // per channel of S's hidden layers
    t.values = {1.5f, 2.5f, 3.5f};
    t.shape = {3};
  }
  write_container(folder + "/per_layer.efad", c);
  const LoadedModel m = load_model(folder + "/per_layer.efad");
  ck_assert_int_eq(m.nets.teacher_activation_max.numel(), 3);
  const auto ranges = activation_ranges(m.nets.teacher, m.nets.teacher_activation_max);
  ck_assert_float_eq_tol(ranges[2][255], kActivationHeadroom * 3.5f, 1e-6);
}
END_TEST

// Models written before the int8 decoder lack its calibration: still loaded, their fast mode keeps the float
// autoencoder.
START_TEST(models_before_the_int8_decoder_still_load) {
  Container c = read_container(model_path);
  const auto before = c.tensors.size();
  c.tensors.erase(std::remove_if(c.tensors.begin(), c.tensors.end(),
                                 [](const TensorRecord& t) { return t.name == "autoencoder.activation_max"; }),
                  c.tensors.end());
  ck_assert_uint_eq(c.tensors.size(), before - 1);
  write_container(folder + "/older.efad", c);
  const LoadedModel m = load_model(folder + "/older.efad");
  ck_assert(!m.nets.decoder_activation_max.defined());
  ck_assert(!m.info.int8_decoder);
  ck_assert(std::strstr(describe(m.info).c_str(), "int8 decoder:      not calibrated"));
  c.header.erase("provenance.penalty_dead_leaves");  // nor knew of dead leaves: their penalty was images or off
  write_container(folder + "/older.efad", c);
  ck_assert(!read_model_info(folder + "/older.efad").provenance.penalty_dead_leaves);
  save_model(folder + "/older_copy.efad", m.nets, m.info);  // and saved again without it
  ck_assert(!read_container(folder + "/older_copy.efad").has_tensor("autoencoder.activation_max"));
}
END_TEST

START_TEST(inconsistent_header_values_n) {
  expect_edit_rejected([](Container& c) { c.header["variant"] = "XL"; }, "unknown variant");
  expect_edit_rejected([](Container& c) { c.header.erase("threshold"); }, "'threshold' is missing");
  expect_edit_rejected([](Container& c) { c.header["threshold"] = "high"; }, "not a finite number");
  expect_edit_rejected([](Container& c) { c.header["threshold"] = "nan"; }, "not a finite number");
  expect_edit_rejected([](Container& c) { c.header["int8.threshold"] = "nan"; }, "'int8.threshold' is not a finite");
  expect_edit_rejected([](Container& c) { c.header["int8.threshold"] = "0.2"; }, "'int8.validation.mean'");
  expect_edit_rejected([](Container& c) { c.header["input_width"] = "100"; }, "out of range");
  expect_edit_rejected([](Container& c) { c.header["input_height"] = "256.5"; }, "not an integer");
  expect_edit_rejected([](Container& c) { c.header["quantile.st_b"] = c.header["quantile.st_a"]; }, "degenerate");
  expect_edit_rejected([](Container& c) { c.header["provenance.seed"] = "-3"; }, "unsigned integer");
  expect_edit_rejected([](Container& c) { c.header["kind"] = "teacher"; }, "teacher file, not a trained model");
  expect_edit_rejected([](Container& c) { c.header["kind"] = "dataset"; }, "unknown file kind");
  // What a hostile probe slipped through: a width that wrapped around to 256, a threshold that became infinity
  // (a model that never alarms), quantiles that gave infinite scores, terminal escapes copied into messages.
  expect_edit_rejected([](Container& c) { c.header["input_width"] = "4294967552"; }, "out of range: 4294967552");
  expect_edit_rejected([](Container& c) { c.header["threshold"] = "1e39"; }, "'threshold' is out of range");
  expect_edit_rejected([](Container& c) { c.header["quantile.ae_b"] = "1e39"; }, "'quantile.ae_b' is out of range");
  expect_edit_rejected([](Container& c) { c.header["padding"] = "7"; }, "'padding' is out of range");
  expect_edit_rejected([](Container& c) { c.header["provenance.penalty_dead_leaves"] = "2"; },
                       "'provenance.penalty_dead_leaves' is out of range");
  expect_edit_rejected([](Container& c) { c.header["variant"] = "\x1b[2J\x1b[31mS"; }, "unknown variant '\\x1b[2J");
}
END_TEST

START_TEST(invalid_statistics_n) {
  expect_edit_rejected([](Container& c) { tensor(c, "teacher_std").values[5] = 0.0f; }, "teacher_std holds a non-positive");
  expect_edit_rejected([](Container& c) { tensor(c, "teacher_std").values[0] = -1.0f; }, "non-positive");
  expect_edit_rejected([](Container& c) { tensor(c, "student.activation_max").values[1] = 0.0f; }, "activation_max");
  expect_edit_rejected([](Container& c) { tensor(c, "autoencoder.activation_max").values[70] = -2.0f; },
                       "autoencoder.activation_max holds a non-positive value");
}
END_TEST

START_TEST(teacher_of_wrong_kind_or_variant_n) {
  const LoadedModel m = load_model(model_path);
  save_teacher(folder + "/t.efad", m.nets.teacher, "");
  try {
    load_teacher(folder + "/t.efad", Variant::Medium, false);
    ck_abort_msg("S teacher accepted for M");
  } catch (const ModelFileError& e) {
    ck_assert(std::strstr(e.what(), "--variant S"));
  }
  try {
    load_teacher(model_path, Variant::Small, false);
    ck_abort_msg("model accepted as teacher");
  } catch (const ModelFileError& e) {
    ck_assert(std::strstr(e.what(), "not a teacher file"));
  }
}
END_TEST

int main() {
  return test::run_cases("model_file", {
      {"positive", TESTS(round_trip_keeps_everything, teacher_round_trip, per_layer_activation_maxima_still_load,
                         models_before_the_int8_decoder_still_load), 0, setup, teardown},
      {"negative", TESTS(truncated_and_flipped_model_files_n, wrong_shapes_and_tensors_n, inconsistent_header_values_n,
                   invalid_statistics_n, teacher_of_wrong_kind_or_variant_n), 0, setup, teardown},
  }, test::Fork::None);
}
