// One way to declare and run a Check suite, for every test program: the system Check and GstCheck's bundled copy
// (whose test functions differ in type) both work, because tests are added through Check's own tcase_add_test.
//
//   int main() {
//     return test::run_cases("container", {
//         {"positive", TESTS(reads_its_own_file, ...)},
//         {"negative", TESTS(truncated_file_n, ...), /*timeout_s=*/120},
//     }, test::Fork::PerTest);
//   }
//
// Include Check (check_compat.h or gst/check/gstcheck.h) before this header.
#pragma once

#include <functional>
#include <vector>

namespace test {

// Suites that use LibTorch run without forking: libgomp's thread pool does not survive fork(), and a fixture
// that already ran torch code would deadlock the children.
enum class Fork { PerTest, None };

struct Case {
  const char* name;
  std::function<void(TCase*)> add_tests;  // TESTS(...)
  int timeout_s = 0;                      // 0: Check's default (CK_DEFAULT_TIMEOUT)
  SFun setup = nullptr;                   // once per case, in the runner's process (unchecked fixture)
  SFun teardown = nullptr;
  bool per_test_fixture = false;          // true: setup/teardown around every test (checked fixture)
};

// Runs the cases as one suite and returns the process exit status (0: all passed, 1: a test failed).
inline int run_cases(const char* suite_name, const std::vector<Case>& cases, Fork fork) {
  Suite* suite = suite_create(suite_name);
  for (const Case& c : cases) {
    TCase* tc = tcase_create(c.name);
    if (c.timeout_s > 0) tcase_set_timeout(tc, c.timeout_s);
    if (c.setup || c.teardown) {
      if (c.per_test_fixture) {
        tcase_add_checked_fixture(tc, c.setup, c.teardown);
      } else {
        tcase_add_unchecked_fixture(tc, c.setup, c.teardown);
      }
    }
    c.add_tests(tc);
    suite_add_tcase(suite, tc);
  }
  SRunner* runner = srunner_create(suite);
  if (fork == Fork::None) srunner_set_fork_status(runner, CK_NOFORK);
  srunner_run_all(runner, CK_NORMAL);
  const int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? 0 : 1;
}

}  // namespace test

// TESTS(a, b, ...): a Case's test list, each added with tcase_add_test (up to 40 per case).
#define TESTS(...) [](TCase* tc_) { EFFICIENTAD_ADD_TESTS(tc_, __VA_ARGS__) }

// The macro for the number of arguments: the count shifts the list of EFFICIENTAD_ADD_n names.
#define EFFICIENTAD_ADD_TESTS(tc, ...) EFFICIENTAD_EXPAND(EFFICIENTAD_PICK(__VA_ARGS__, EFFICIENTAD_ADD_40, EFFICIENTAD_ADD_39, EFFICIENTAD_ADD_38, EFFICIENTAD_ADD_37, EFFICIENTAD_ADD_36, EFFICIENTAD_ADD_35, EFFICIENTAD_ADD_34, EFFICIENTAD_ADD_33, EFFICIENTAD_ADD_32, EFFICIENTAD_ADD_31, EFFICIENTAD_ADD_30, EFFICIENTAD_ADD_29, EFFICIENTAD_ADD_28, EFFICIENTAD_ADD_27, EFFICIENTAD_ADD_26, EFFICIENTAD_ADD_25, EFFICIENTAD_ADD_24, EFFICIENTAD_ADD_23, EFFICIENTAD_ADD_22, EFFICIENTAD_ADD_21, EFFICIENTAD_ADD_20, EFFICIENTAD_ADD_19, EFFICIENTAD_ADD_18, EFFICIENTAD_ADD_17, EFFICIENTAD_ADD_16, EFFICIENTAD_ADD_15, EFFICIENTAD_ADD_14, EFFICIENTAD_ADD_13, EFFICIENTAD_ADD_12, EFFICIENTAD_ADD_11, EFFICIENTAD_ADD_10, EFFICIENTAD_ADD_9, EFFICIENTAD_ADD_8, EFFICIENTAD_ADD_7, EFFICIENTAD_ADD_6, EFFICIENTAD_ADD_5, EFFICIENTAD_ADD_4, EFFICIENTAD_ADD_3, EFFICIENTAD_ADD_2, EFFICIENTAD_ADD_1)(tc, __VA_ARGS__))
#define EFFICIENTAD_PICK(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, _33, _34, _35, _36, _37, _38, _39, _40, name, ...) name
#define EFFICIENTAD_EXPAND(x) x
#define EFFICIENTAD_ADD_1(tc, t) tcase_add_test(tc, t);
#define EFFICIENTAD_ADD_2(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_1(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_3(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_2(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_4(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_3(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_5(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_4(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_6(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_5(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_7(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_6(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_8(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_7(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_9(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_8(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_10(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_9(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_11(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_10(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_12(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_11(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_13(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_12(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_14(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_13(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_15(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_14(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_16(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_15(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_17(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_16(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_18(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_17(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_19(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_18(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_20(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_19(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_21(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_20(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_22(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_21(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_23(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_22(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_24(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_23(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_25(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_24(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_26(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_25(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_27(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_26(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_28(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_27(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_29(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_28(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_30(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_29(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_31(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_30(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_32(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_31(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_33(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_32(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_34(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_33(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_35(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_34(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_36(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_35(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_37(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_36(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_38(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_37(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_39(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_38(tc, __VA_ARGS__)
#define EFFICIENTAD_ADD_40(tc, t, ...) tcase_add_test(tc, t); EFFICIENTAD_ADD_39(tc, __VA_ARGS__)
