// The adaptive thread count of `threads = 0`: what it measures (other processes' CPU time, not the networks'
// own OpenMP team) and how it reacts to a real busy process; the side-by-side tasks it turns to then; and the
// CPU's measured peak, the benchmark's yardstick. Runs alone: the load of other tests would be seen.
#include "check_compat.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <omp.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/cpu_threads.h"
#include "common/device.h"
#include "common/timing.h"
#include "efficientad/errors.h"
#include "evaluation/cpu_peak.h"
#include "test_helpers.h"

using namespace efficientad::detail;

namespace {

// Keeps the calling thread's OpenMP team (one thread per usable core) busy for `seconds`.
void spin_our_team(double seconds) {
  set_cpu_threads(usable_cores());
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  at::parallel_for(0, usable_cores(), 1, [&](int64_t, int64_t) {
    for (volatile unsigned long spin = 0; std::chrono::steady_clock::now() < end; spin = spin + 1) {
    }
  });
}

void sleep_s(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }

}  // namespace

START_TEST(free_cores_round_to_threads) {
  ck_assert_int_eq(threads_for_free_cores(2.0, 2), 2);
  ck_assert_int_eq(threads_for_free_cores(1.6, 2), 2);   // a core busy 40 % of the time still pays to use
  ck_assert_int_eq(threads_for_free_cores(1.0, 2), 1);   // one core taken: one thread
  ck_assert_int_eq(threads_for_free_cores(1.3, 2), 1);
  ck_assert_int_eq(threads_for_free_cores(12.4, 16), 12);
}
END_TEST

START_TEST(a_busy_process_is_seen) {
  LoadBesidesOurThreads load;
  sleep_s(0.2);
  load.sample();
  const BusyCore busy;
  sleep_s(1.5);
  const double rest = load.sample();
  std::printf("load besides our threads with a busy process: %.2f cores\n", rest);
  ck_assert_msg(rest > 0.7 && rest <= usable_cores(), "a spinning process counted as %.2f cores", rest);
}
END_TEST

START_TEST(our_own_team_is_not_counted) {
  LoadBesidesOurThreads load;
  sleep_s(0.2);
  load.sample();
  spin_our_team(1.5);
  const double rest = load.sample();
  std::printf("load besides our threads while our team spins on every core: %.2f cores\n", rest);
  ck_assert_msg(rest >= 0 && rest < 0.4, "our own team counted as %.2f cores of other work", rest);
}
END_TEST

START_TEST(adaptive_threads_follow_a_busy_process) {
  AdaptiveThreads adaptive;
  const int all = usable_cores();
  ck_assert_int_eq(adaptive.threads(), all);
  ck_assert_int_eq(at::get_num_threads(), all);
  {
    const BusyCore busy;
    for (int i = 0; i < 3; ++i) spin_our_team(0.6), set_cpu_threads(adaptive.update());
    std::printf("threads with a busy process: %d of %d\n", adaptive.threads(), all);
    ck_assert_int_eq(adaptive.threads(), all - 1);
    ck_assert_int_eq(at::get_num_threads(), all - 1);
    ck_assert_int_eq(adaptive.side_by_side_threads(), all == 2 ? 2 : 0);  // one thread left: tasks side by side
  }
  for (int i = 0; i < 3; ++i) spin_our_team(0.6), set_cpu_threads(adaptive.update());
  std::printf("threads after it ended: %d of %d\n", adaptive.threads(), all);
  ck_assert_int_eq(adaptive.threads(), all);
  ck_assert_int_eq(adaptive.side_by_side_threads(), 0);
}
END_TEST

// The cores the calling thread may run on.
int cores_allowed() {
  cpu_set_t set;
  ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
  return CPU_COUNT(&set);
}

START_TEST(side_by_side_runs_every_task_once_on_one_thread) {
  const int all = usable_cores();
  std::vector<std::atomic<int>> runs(7);
  std::vector<int> team_sizes(runs.size(), 0), cores(runs.size(), 0);
  std::vector<std::function<void()>> tasks;
  for (size_t i = 0; i < runs.size(); ++i) {
    tasks.push_back([&, i] {
      ++runs[i];
      cores[i] = cores_allowed();
#pragma omp parallel
      if (omp_get_thread_num() == 0) team_sizes[i] = omp_get_num_threads();  // a nested region: one thread
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    });
  }
  run_side_by_side(tasks, all);
  for (size_t i = 0; i < runs.size(); ++i) {
    ck_assert_int_eq(runs[i].load(), 1);
    ck_assert_int_eq(team_sizes[i], 1);
    ck_assert_int_eq(cores[i], 1);  // pinned while it ran
  }
  // The team's threads have all their cores back for the layer-parallel work that follows.
  std::vector<int> after(size_t(all), 0);
#pragma omp parallel num_threads(all)
  after[size_t(omp_get_thread_num())] = cores_allowed();
  for (int n : after) ck_assert_int_eq(n, all);
  ck_assert_int_eq(cores_allowed(), all);
}
END_TEST

START_TEST(side_by_side_adds_a_busy_cores_share) {
  // Sixteen equal tasks of pure computation with one core kept busy: one thread alone does them all; side by
  // side, the thread on the busy core adds its share (ideally 1.5 cores' worth: 0.67x). Small tasks, so that the
  // last one, which may fall to the slow thread, is short (with four, that made 0.75x or 1.0x by chance).
  const auto work = [] {
    volatile double x = 0;
    for (int i = 0; i < 15'000'000; ++i) x = x + 1e-9;
  };
  const std::vector<std::function<void()>> tasks(16, work);
  const BusyCore busy;
  auto start = Clock::now();
  run_side_by_side(tasks, 1);
  const double alone = seconds_since(start);
  start = Clock::now();
  run_side_by_side(tasks, usable_cores());
  const double side_by_side = seconds_since(start);
  std::printf("16 tasks, one core busy: one thread %.3f s, side by side %.3f s\n", alone, side_by_side);
  ck_assert_msg(side_by_side < 0.9 * alone, "side by side %.3f s, one thread %.3f s", side_by_side, alone);
}
END_TEST

START_TEST(side_by_side_rethrows_the_first_error_after_all_ran_n) {
  std::atomic<int> ran{0};
  std::vector<std::function<void()>> tasks(5, [&] { ++ran; });
  tasks[1] = [&] { ++ran, throw efficientad::InvalidArgument("task 1 failed"); };
  try {
    run_side_by_side(tasks, usable_cores());
    ck_abort_msg("the error was swallowed");
  } catch (const efficientad::InvalidArgument& e) {
    ck_assert_str_eq(e.what(), "task 1 failed");
  }
  ck_assert_int_eq(ran.load(), 5);
  ck_assert_int_eq(cores_allowed(), usable_cores());
}
END_TEST

START_TEST(side_by_side_with_nothing_or_no_threads_n) {
  run_side_by_side({}, 2);  // nothing to do: returns
  std::atomic<int> ran{0};
  for (int threads : {0, -3}) run_side_by_side(std::vector<std::function<void()>>(3, [&] { ++ran; }), threads);
  ck_assert_int_eq(ran.load(), 6);  // at least one thread, whatever was asked
}
END_TEST

START_TEST(impossible_free_cores_give_one_to_all_n) {
  ck_assert_int_eq(threads_for_free_cores(-0.5, 2), 1);  // never zero threads
  ck_assert_int_eq(threads_for_free_cores(0.0, 2), 1);
  ck_assert_int_eq(threads_for_free_cores(9.0, 2), 2);   // never more than the usable cores
  ck_assert_int_eq(threads_for_free_cores(NAN, 4), 1);
  ck_assert_int_eq(threads_for_free_cores(INFINITY, 4), 1);
  ck_assert_int_eq(threads_for_free_cores(1.0, 0), 1);
}
END_TEST

START_TEST(too_short_an_interval_tells_nothing_n) {
  LoadBesidesOurThreads load;
  ck_assert(load.sample() < 0);  // no CPU time has passed: no figure rather than a wild one
}
END_TEST

START_TEST(adaptive_threads_wait_for_the_interval_n) {
  AdaptiveThreads adaptive;
  const int all = usable_cores();
  const BusyCore busy;
  spin_our_team(0.3);
  ck_assert_int_eq(adaptive.update(), all);  // under a second: no change yet, however busy
}
END_TEST

START_TEST(peak_is_above_a_real_convolution) {
  if (!__builtin_cpu_supports("avx512f")) {
    ck_assert(measure_cpu_peak(1).fp32_gmacs == 0);  // not measured rather than a wrong figure
    return;
  }
  const CpuPeak peak = measure_cpu_peak(1);
  // oneDNN's fp32 3x3 convolution of the teacher's third layer (S, 256x256 input) on the same single thread.
  set_cpu_threads(1);
  const at::Tensor x = at::rand({1, 256, 61, 61}).contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor w = at::rand({256, 256, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast);
  for (int warm = 0; warm < 2; ++warm) at::conv2d(x, w);
  const auto start = Clock::now();
  constexpr int kRuns = 5;
  for (int run = 0; run < kRuns; ++run) at::conv2d(x, w);
  const double conv_gmacs = kRuns * 59.0 * 59 * 256 * 256 * 9 / seconds_since(start) * 1e-9;
  std::printf("one thread: fp32 peak %.1f GMAC/s, oneDNN conv %.1f (%.0f %%); int8 peak %.1f, bf16 peak %.1f\n",
              peak.fp32_gmacs, conv_gmacs, 100 * conv_gmacs / peak.fp32_gmacs, peak.int8_gmacs, peak.bf16_gmacs);
  ck_assert_msg(conv_gmacs < 1.05 * peak.fp32_gmacs, "a real convolution beat the measured peak");
  ck_assert_msg(conv_gmacs > 0.2 * peak.fp32_gmacs, "the measured peak is implausibly far above oneDNN");
  // A VNNI instruction does 64 u8 x s8 MACs where an FMA does 16 fp32 ones, at no lower issue rate anywhere.
  if (__builtin_cpu_supports("avx512vnni")) ck_assert(peak.int8_gmacs > 2 * peak.fp32_gmacs);
  if (__builtin_cpu_supports("avx512bf16")) ck_assert(peak.bf16_gmacs > 0);
}
END_TEST

START_TEST(peak_needs_a_thread_n) {
  for (int threads : {0, -2}) {
    try {
      measure_cpu_peak(threads);
      ck_abort_msg("%d threads accepted", threads);
    } catch (const efficientad::InvalidArgument& e) {
      ck_assert(std::string(e.what()).find("threads must be >= 1") != std::string::npos);
    }
  }
  try {
    measure_cpu_peak(1, 0);
    ck_abort_msg("0 runs accepted");
  } catch (const efficientad::InvalidArgument& e) {
    ck_assert(std::string(e.what()).find("runs must be >= 1") != std::string::npos);
  }
}
END_TEST

int main() {
  if (usable_cores() < 2) {
    std::puts("SKIP: needs two usable cores to take one away");
    return 77;
  }
  return test::run_cases("cpu_threads", {
      {"positive", TESTS(free_cores_round_to_threads, a_busy_process_is_seen, our_own_team_is_not_counted,
                         adaptive_threads_follow_a_busy_process, side_by_side_runs_every_task_once_on_one_thread,
                         side_by_side_adds_a_busy_cores_share, peak_is_above_a_real_convolution), /*timeout_s=*/30},
      {"negative", TESTS(impossible_free_cores_give_one_to_all_n, too_short_an_interval_tells_nothing_n,
                         adaptive_threads_wait_for_the_interval_n,
                         side_by_side_rethrows_the_first_error_after_all_ran_n, side_by_side_with_nothing_or_no_threads_n,
                         peak_needs_a_thread_n)},
  }, test::Fork::PerTest);
}
