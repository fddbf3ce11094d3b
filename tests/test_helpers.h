// Helpers shared by the Check tests: temporary folders, small model files without training, test images.
#pragma once

#include "check_compat.h"

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "efficientad/image.h"
#include "efficientad/model.h"

namespace test {

// A fresh empty folder under $TMPDIR (or /tmp), removed by the caller's cleanup if wanted.
std::string temp_folder(const std::string& tag);

// Writes a model with random weights, plausible statistics and quantiles (no training, well under a second).
void write_random_model(const std::string& path, const efficientad::ModelGeometry& geometry, unsigned seed = 1);

// A deterministic textured RGB image.
efficientad::Image textured_image(int width, int height, unsigned seed);

std::vector<uint8_t> read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

// The folder of shared datasets passed by the build (-Dshared_data) or $EFFICIENTAD_SHARED_DATA. Fails the test
// loudly (never skips) when it is not there: CI must provide it.
std::string shared_data_folder();

// Asserts that `f` throws E with a message containing `needle`.
template <typename E>
void expect_throw(const std::function<void()>& f, const char* needle) {
  try {
    f();
  } catch (const E& e) {
    ck_assert_msg(std::strstr(e.what(), needle), "message '%s' lacks '%s'", e.what(), needle);
    return;
  }
  ck_abort_msg("expected an exception mentioning '%s'", needle);
}

// Runs a suite and returns the process exit code. Suites that use LibTorch run without forking: libgomp's
// thread pool does not survive fork(), and a fixture that already ran torch code would deadlock the children.
int run_suite(Suite* suite, bool fork_per_test);

}  // namespace test
