// Helpers shared by the Check tests (fixtures.h has those that need no test framework).
#pragma once

#include "check_compat.h"
#include "check_main.h"

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "fixtures.h"

namespace test {

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

}  // namespace test
