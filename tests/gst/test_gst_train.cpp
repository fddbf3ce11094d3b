// The efficientadtrain element through GstHarness: capture (interval, duplicates, roi, max-frames, resume),
// training to a model the detector then uses, the EOS held until the model is written, and every way training
// can be interrupted or fail (early EOS, state to NULL, unwritable folders, a full disk) leaving no partial model.
// Standard headers first: gstcheck.h defines a `fail` macro that breaks <filesystem>'s streams.
#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <csignal>
#include <filesystem>
#include <string>

#include "efficientad/image_io.h"
#include "efficientad/model.h"
#include "fixtures.h"

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "check_main.h"
#include "gst_frames.h"
#include "meta/gstanomalymeta.h"

namespace fs = std::filesystem;
using test::caps_string;
using test::make_frame;

namespace {

// An efficientadtrain element with a fresh capture folder, options "name=value ...", a bus, and input caps.
struct Trainer {
  GstHarness* h;
  GstBus* bus;
  std::string folder;
};

Trainer trainer(const std::string& options, const std::string& folder = "") {
  Trainer t;
  t.folder = folder.empty() ? test::temp_folder("gst-train") + "/capture" : folder;
  GstElement* element = gst_element_factory_make("efficientadtrain", nullptr);
  fail_unless(element != nullptr, "efficientadtrain not found: is GST_PLUGIN_PATH_1_0 the build's gst folder?");
  g_object_set(element, "capture-folder", t.folder.c_str(), "teacher", "random", "steps", 2u, nullptr);
  test::set_properties(element, options);
  t.bus = gst_bus_new();
  gst_element_set_bus(element, t.bus);
  t.h = gst_harness_new_with_element(element, "sink", "src");
  gst_object_unref(element);
  gst_harness_set_src_caps_str(t.h, caps_string(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
  return t;
}

void teardown(Trainer& t) {
  gst_harness_teardown(t.h);
  gst_object_unref(t.bus);
}

// Pushes `count` distinct frames (or the same one when `same`); every one must come out unchanged.
void push_frames(Trainer& t, guint first, guint count, bool same = false) {
  for (guint i = first; i < first + count; ++i) {
    fail_unless_equals_int(gst_harness_push(t.h, make_frame(GST_VIDEO_FORMAT_RGB, 320, 240, i, same ? 0 : guint8(i * 37))),
                           GST_FLOW_OK);
    GstBuffer* out = gst_harness_pull(t.h);
    fail_unless(out != nullptr, "frame %u was not passed on", i);
    gst_buffer_unref(out);
  }
}

// Waits up to `seconds` for an element message named `name`; returns a copy of its structure or nullptr.
GstStructure* wait_for(GstBus* bus, const char* name, int seconds) {
  const gint64 deadline = g_get_monotonic_time() + seconds * G_TIME_SPAN_SECOND;
  while (g_get_monotonic_time() < deadline) {
    GstMessage* m = gst_bus_timed_pop_filtered(bus, 100 * GST_MSECOND, GST_MESSAGE_ELEMENT);
    if (!m) continue;
    const GstStructure* s = gst_message_get_structure(m);
    GstStructure* copy = gst_structure_has_name(s, name) ? gst_structure_copy(s) : nullptr;
    gst_message_unref(m);
    if (copy) return copy;
  }
  return nullptr;
}

// Emits `train` and waits up to `seconds` for training-failed; returns its error, or "" when none came.
std::string training_failure(Trainer& t, int seconds) {
  g_signal_emit_by_name(t.h->element, "train");
  GstStructure* failed = wait_for(t.bus, "training-failed", seconds);
  if (!failed) return "";
  const std::string error = gst_structure_get_string(failed, "error");
  gst_structure_free(failed);
  return error;
}

guint captured(Trainer& t) {
  guint n = 0;
  g_object_get(t.h->element, "captured-frames", &n, nullptr);
  return n;
}

bool has_eos(GstHarness* h) {
  while (GstEvent* e = gst_harness_try_pull_event(h)) {
    const bool eos = GST_EVENT_TYPE(e) == GST_EVENT_EOS;
    gst_event_unref(e);
    if (eos) return true;
  }
  return false;
}

// No model and no temporary file left in `folder`.
void expect_no_model_files(const std::string& folder) {
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    fail_if(name.find(".efad") != std::string::npos || name.find(".tmp") != std::string::npos,
            "left behind: %s", name.c_str());
  }
}

std::string start_error(const std::string& options) {
  GstElement* element = gst_parse_bin_from_description(("efficientadtrain " + options).c_str(), FALSE, nullptr);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(element, bus);
  const GstStateChangeReturn result = gst_element_set_state(element, GST_STATE_PAUSED);
  std::string text;
  if (GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    GError* error = nullptr;
    gst_message_parse_error(message, &error, nullptr);
    text = error->message;
    g_error_free(error);
    gst_message_unref(message);
  }
  gst_element_set_state(element, GST_STATE_NULL);
  gst_element_set_bus(element, nullptr);
  gst_object_unref(bus);
  gst_object_unref(element);
  fail_unless_equals_int(result, GST_STATE_CHANGE_FAILURE);
  return text;
}

}  // namespace

// The default teacher is "auto": the shipped, distilled teacher for EfficientAD-S.
GST_START_TEST(captures_trains_and_the_detector_uses_the_model) {
  GstElement* fresh = gst_element_factory_make("efficientadtrain", nullptr);
  gchar* default_teacher = nullptr;
  g_object_get(fresh, "teacher", &default_teacher, nullptr);
  fail_unless_equals_string(default_teacher, "auto");
  g_free(default_teacher);
  gst_object_unref(fresh);

  Trainer t = trainer("capture-interval=2 max-frames=6 teacher=auto");
  push_frames(t, 0, 14);  // frames 0, 2, ..., 10 are captured; the stream goes on while training
  fail_unless_equals_int(captured(t), 6);
  GstStructure* done = wait_for(t.bus, "training-done", 600);
  fail_unless(done != nullptr, "no training-done message");
  const std::string model = gst_structure_get_string(done, "model-file");
  const std::string expected = t.folder + "/model.efad";
  fail_unless_equals_string(model.c_str(), expected.c_str());
  gst_structure_free(done);
  const efficientad::ModelInfo info = efficientad::read_model_info(model);
  fail_if(info.provenance.teacher_random, "trained with a random teacher: %s", info.provenance.teacher_origin.c_str());
  for (int i = 1; i <= 6; ++i) {  // all written, at full frame size
    char name[32];
    std::snprintf(name, sizeof name, "/frame-%06d.png", i);
    fail_unless_equals_int(efficientad::load_image(t.folder + name).width(), 320);
  }
  teardown(t);

  GstElement* element = gst_element_factory_make("efficientad", nullptr);
  g_object_set(element, "model-file", model.c_str(), nullptr);
  GstHarness* d = gst_harness_new_with_element(element, "sink", "src");
  gst_object_unref(element);
  gst_harness_set_src_caps_str(d, caps_string(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
  fail_unless_equals_int(gst_harness_push(d, make_frame(GST_VIDEO_FORMAT_RGB, 320, 240, 0, 5)), GST_FLOW_OK);
  GstBuffer* out = gst_harness_pull(d);
  GstAnomalyMeta* meta = gst_buffer_get_anomaly_meta(out);
  fail_unless(meta != nullptr && std::isfinite(meta->score));
  gst_buffer_unref(out);
  gst_harness_teardown(d);
}
GST_END_TEST;

GST_START_TEST(skips_duplicates_and_captures_the_roi) {
  Trainer t = trainer("auto-train=false");
  push_frames(t, 0, 5, true);  // one picture five times: one capture
  fail_unless_equals_int(captured(t), 1);
  teardown(t);

  t = trainer("auto-train=false duplicate-threshold=0 roi=10,20,100,50");
  push_frames(t, 0, 5, true);
  fail_unless_equals_int(captured(t), 5);
  teardown(t);  // stop writes what is queued
  const efficientad::Image roi_frame = efficientad::load_image(t.folder + "/frame-000001.png");
  fail_unless_equals_int(roi_frame.width(), 100);
  fail_unless_equals_int(roi_frame.height(), 50);

  t = trainer("auto-train=false min-gap=100000000");  // 0.1 s at 30 fps: every third frame
  push_frames(t, 0, 9);
  fail_unless_equals_int(captured(t), 3);
  teardown(t);
}
GST_END_TEST;

GST_START_TEST(resumes_a_capture_folder) {
  Trainer t = trainer("auto-train=false max-frames=5");
  push_frames(t, 0, 2);
  teardown(t);
  t = trainer("auto-train=false max-frames=5", t.folder);  // the earlier frames count towards max-frames
  fail_unless_equals_int(captured(t), 2);
  push_frames(t, 10, 6);
  fail_unless_equals_int(captured(t), 5);
  teardown(t);
  fail_unless(fs::exists(t.folder + "/frame-000005.png"));
  fail_if(fs::exists(t.folder + "/frame-000006.png"));
}
GST_END_TEST;

GST_START_TEST(refuses_used_or_unwritable_folders_n) {
  Trainer t = trainer("auto-train=false");
  push_frames(t, 0, 2);
  teardown(t);
  std::string text = start_error("capture-folder=" + t.folder + " resume=false");
  fail_unless(text.find("already holds 2 images") != std::string::npos, "%s", text.c_str());

  const std::string root = test::temp_folder("gst-train-bad");
  test::write_bytes(root + "/file", {1});
  text = start_error("capture-folder=" + root + "/file/capture");
  fail_unless(text.find("Cannot write to the capture folder") != std::string::npos, "%s", text.c_str());
  text = start_error("capture-folder=" + root + "/ok model-file=" + root + "/file/model.efad");
  fail_unless(text.find("does not exist") != std::string::npos, "%s", text.c_str());
  text = start_error("");
  fail_unless(text.find("set capture-folder") != std::string::npos, "%s", text.c_str());
}
GST_END_TEST;

// Also: keep-aspect gives the 320x240 frames a 4:3 network input (short side 256), and the model records the
// schedule and the penalty asked for.
GST_START_TEST(eos_waits_for_the_model) {
  Trainer t = trainer("max-frames=100 keep-aspect=true schedule=cosine learning-rate=0.0003 penalty=dead-leaves");
  push_frames(t, 0, 4);
  fail_unless(gst_harness_push_event(t.h, gst_event_new_eos()));
  GstStructure* done = wait_for(t.bus, "training-done", 600);
  fail_unless(done != nullptr, "no training-done message");
  const efficientad::ModelInfo info = efficientad::read_model_info(gst_structure_get_string(done, "model-file"));
  fail_unless_equals_int(info.geometry.input_width, 344);
  fail_unless_equals_int(info.geometry.input_height, 256);
  fail_unless(info.provenance.schedule.find("cosine (Adam, peak 0.0003") == 0, "%s", info.provenance.schedule.c_str());
  fail_unless(info.provenance.penalty_dead_leaves && info.provenance.penalty_images == 0);
  gst_structure_free(done);
  const gint64 deadline = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
  bool eos = false;
  while (!eos && g_get_monotonic_time() < deadline) {
    eos = has_eos(t.h);
    g_usleep(10000);
  }
  fail_unless(eos, "the held EOS was not released after training");
  teardown(t);
}
GST_END_TEST;

GST_START_TEST(early_eos_reports_too_few_frames_n) {
  Trainer t = trainer("");
  push_frames(t, 0, 1);
  fail_unless(gst_harness_push_event(t.h, gst_event_new_eos()));
  GstStructure* failed = wait_for(t.bus, "training-failed", 5);
  fail_unless(failed != nullptr);
  fail_unless(std::string(gst_structure_get_string(failed, "error")).find("at least 2") != std::string::npos);
  gst_structure_free(failed);
  fail_unless(has_eos(t.h), "EOS must pass when there is nothing to train");
  teardown(t);
  expect_no_model_files(t.folder);
}
GST_END_TEST;

GST_START_TEST(stopping_cancels_training_n) {
  Trainer t = trainer("auto-train=false steps=100000");
  push_frames(t, 0, 4);
  g_signal_emit_by_name(t.h->element, "train");
  GstStructure* progress = nullptr;
  while ((progress = wait_for(t.bus, "training-progress", 120)) != nullptr) {  // until steps are running
    const bool training = std::string(gst_structure_get_string(progress, "phase")) == "training";
    gst_structure_free(progress);
    if (training) break;
  }
  const gint64 start = g_get_monotonic_time();
  gst_element_set_state(t.h->element, GST_STATE_NULL);  // what stopping a pipeline does
  fail_unless(g_get_monotonic_time() - start < 30 * G_TIME_SPAN_SECOND, "stopping waited for training");
  GstStructure* failed = wait_for(t.bus, "training-failed", 5);
  fail_unless(failed != nullptr);
  gboolean cancelled = FALSE;
  gst_structure_get_boolean(failed, "cancelled", &cancelled);
  fail_unless(cancelled);
  gst_structure_free(failed);
  teardown(t);
  expect_no_model_files(t.folder);
  fail_unless(fs::exists(t.folder + "/frame-000004.png"), "captured frames must survive");
}
GST_END_TEST;

// A full disk for files written from now on, simulated with a file size limit (works as root too); returns the
// old limit, to be restored with setrlimit before any assertion (a failed one does not return).
rlimit limit_file_size(rlim_t bytes) {
  rlimit old_limit;
  getrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG instead of killing the process
  rlimit limit = old_limit;
  limit.rlim_cur = bytes;
  setrlimit(RLIMIT_FSIZE, &limit);
  return old_limit;
}

// A full disk, simulated with a file size limit (works as root too): the model cannot be written, the failure is
// reported, and neither a partial model nor a temporary file stays behind.
GST_START_TEST(full_disk_leaves_no_partial_model_n) {
  Trainer t = trainer("auto-train=false");
  push_frames(t, 0, 4);
  const rlimit old_limit = limit_file_size(1 << 20);  // frames (< 300 KB) fit, a model (> 10 MB) does not
  const std::string error = training_failure(t, 600);
  setrlimit(RLIMIT_FSIZE, &old_limit);
  fail_unless(!error.empty(), "no training-failed message");
  fail_unless(error.find("model.efad") != std::string::npos, "error does not name the file: %s", error.c_str());
  teardown(t);
  expect_no_model_files(t.folder);
}
GST_END_TEST;

// What a hostile probe found: on a full disk the element counted 8 captured frames when 2 were written, warned
// about nothing with a fast source, trained on the 2 and let gst-launch exit 0. Now every lost frame is
// uncounted, the first loss is a warning at once, capture stops, and training refuses with an error on the bus.
GST_START_TEST(full_disk_while_capturing_fails_loudly_n) {
  Trainer t = trainer("max-frames=4");
  const rlimit old_limit = limit_file_size(4096);  // no 320x240 frame fits
  push_frames(t, 0, 4);  // capture stops at the first lost frame; the end of the stream starts training
  fail_unless(gst_harness_push_event(t.h, gst_event_new_eos()));
  // Every message in order (wait_for would drop the warnings and errors), until training failed and its error came.
  std::string error, bus_error;
  int warnings = 0, errors = 0;
  const gint64 deadline = g_get_monotonic_time() + 120 * G_TIME_SPAN_SECOND;
  while (g_get_monotonic_time() < deadline && (errors == 0 || error.empty())) {
    GstMessage* m = gst_bus_timed_pop(t.bus, 100 * GST_MSECOND);
    if (!m) continue;
    warnings += GST_MESSAGE_TYPE(m) == GST_MESSAGE_WARNING;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR && errors++ == 0) {
      GError* e = nullptr;
      gst_message_parse_error(m, &e, nullptr);
      bus_error = e->message;
      g_error_free(e);
    }
    const GstStructure* s = gst_message_get_structure(m);
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && gst_structure_has_name(s, "training-failed")) {
      error = gst_structure_get_string(s, "error");
    }
    gst_message_unref(m);
  }
  setrlimit(RLIMIT_FSIZE, &old_limit);
  fail_unless(error.find("could not be written") != std::string::npos, "training-failed error: '%s' (bus error: '%s')",
              error.c_str(), bus_error.c_str());
  fail_unless(warnings > 0, "the lost frames were not warned about");
  fail_unless(errors > 0, "a failed training must be an error (gst-launch then exits non-zero)");
  fail_unless_equals_int(captured(t), 0);
  teardown(t);
  expect_no_model_files(t.folder);
}
GST_END_TEST;

// teacher=shipped where no teacher ships (M): training fails and says why, instead of using a random teacher.
GST_START_TEST(missing_shipped_teacher_fails_training_n) {
  Trainer t = trainer("auto-train=false teacher=shipped variant=M");
  push_frames(t, 0, 3);
  const std::string error = training_failure(t, 120);
  fail_unless(!error.empty(), "no training-failed message");
  fail_unless(error.find("no shipped teacher for EfficientAD-M") != std::string::npos, "error: %s", error.c_str());
  teardown(t);
  expect_no_model_files(t.folder);
}
GST_END_TEST;

// A 4K RGB frame of noise: PNG encoding it (deflate on incompressible data) takes far longer than passing it on.
static GstBuffer* noise_frame_4k(guint index) {
  GstBuffer* buffer = make_frame(GST_VIDEO_FORMAT_RGB, 3840, 2160, index);
  GstMapInfo map;
  gst_buffer_map(buffer, &map, GST_MAP_WRITE);
  guint64 state = 0x9E3779B97F4A7C15ull * (index + 1);
  for (gsize i = 0; i + 8 <= map.size; i += 8) {  // xorshift64
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    memcpy(map.data + i, &state, 8);
  }
  gst_buffer_unmap(buffer, &map);
  return buffer;
}

// A disk slower than the stream: captures are skipped with a warning instead of queueing frames without bound
// (4K noise frames arrive far faster than PNG encoding writes them), and every frame still passes through.
GST_START_TEST(slow_disk_skips_captures_with_a_warning_n) {
  Trainer t = trainer("auto-train=false duplicate-threshold=0 max-frames=1000");
  gst_harness_set_src_caps_str(t.h, caps_string(GST_VIDEO_FORMAT_RGB, 3840, 2160).c_str());
  const guint pushed = 60;
  for (guint i = 0; i < pushed; ++i) {
    fail_unless_equals_int(gst_harness_push(t.h, noise_frame_4k(i)), GST_FLOW_OK);
    gst_buffer_unref(gst_harness_pull(t.h));
  }
  const guint kept = captured(t);
  fail_unless(kept >= 10 && kept < pushed, "captured %u of %u 4K frames", kept, pushed);
  GstMessage* warning = gst_bus_pop_filtered(t.bus, GST_MESSAGE_WARNING);
  fail_unless(warning != nullptr, "no warning about the skipped captures");
  GError* error = nullptr;
  gst_message_parse_warning(warning, &error, nullptr);
  fail_unless(std::string(error->message).find("disk cannot keep up") != std::string::npos, "%s", error->message);
  g_error_free(error);
  gst_message_unref(warning);
  teardown(t);  // writes what is queued: every counted frame is on disk, whole
  guint files = 0;
  for (const auto& entry : fs::directory_iterator(t.folder)) files += entry.path().extension() == ".png";
  fail_unless_equals_int(files, kept);
  char last[32];
  std::snprintf(last, sizeof last, "/frame-%06u.png", kept);
  fail_unless_equals_int(efficientad::load_image(t.folder + last).width(), 3840);
}
GST_END_TEST;


int main(int argc, char** argv) {
  gst_check_init(&argc, &argv);
  // One process: LibTorch's OpenMP pool (used by the fixtures) does not survive fork().
  return test::run_cases("efficientadtrain", {
      {"efficientadtrain", TESTS(captures_trains_and_the_detector_uses_the_model, skips_duplicates_and_captures_the_roi,
                                 resumes_a_capture_folder, refuses_used_or_unwritable_folders_n, eos_waits_for_the_model,
                                 early_eos_reports_too_few_frames_n, stopping_cancels_training_n,
                                 full_disk_leaves_no_partial_model_n, full_disk_while_capturing_fails_loudly_n,
                                 slow_disk_skips_captures_with_a_warning_n,
                                 missing_shipped_teacher_fails_training_n), 900},
  }, test::Fork::None);
}
