// How many threads the networks should use when the cores are shared with other work. OpenMP splits each layer
// statically across its threads, so one thread on a core that another process keeps busy holds every layer up:
// with one of two cores busy, two threads are slower than one. The thread count therefore follows the cores
// that the rest of the machine leaves free, re-measured as frames go by.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "common/timing.h"

namespace efficientad::detail {

// The cores this process may run on (its affinity mask), at least 1.
int usable_cores();

// A child process that keeps one core (the last this process may use) busy from construction to destruction:
// the contention a decoder or another pipeline brings (the benchmark's and the tests' load). Throws Error when
// it cannot be started.
class BusyCore {
 public:
  BusyCore();
  ~BusyCore();
  BusyCore(const BusyCore&) = delete;
  BusyCore& operator=(const BusyCore&) = delete;
  int core() const { return core_; }

 private:
  int core_;
  int pid_;
};

// CPU time used by everything but the calling thread's OpenMP team (the threads that run the networks): other
// processes, and other threads of this one (a GStreamer decoder, another pipeline's detector), from /proc/stat
// and /proc/self/task/TID/stat.
class LoadBesidesOurThreads {
 public:
  // Call on the thread that runs the networks.
  LoadBesidesOurThreads();
  // Cores' worth of CPU time (0..cores) the rest used since the previous call (or construction); -1 where /proc
  // cannot be read or too little time has passed to tell.
  double sample();

 private:
  bool read(int64_t& busy, int64_t& total, int64_t& ours) const;
  std::vector<int> team_;  // thread ids of the calling thread's OpenMP team at one thread per usable core
  int64_t busy_ = 0, total_ = 0, ours_ = 0;
  int cpus_ = 1;  // cores /proc/stat counts
  bool valid_ = false;
};

// The `threads = 0` policy: one thread per usable core that the rest of the machine leaves free (rounded, at least 1),
// re-checked at most once per kInterval. Call update() on the thread that runs the networks (OpenMP thread counts
// are per calling thread); it returns the count in force. Where that leaves one thread on a machine of several
// cores, work that can be cut into independent tasks runs side by side on one thread per usable core instead
// (side_by_side_threads()): the busy cores' leftover share adds to the free core's.
class AdaptiveThreads {
 public:
  static constexpr double kIntervalSeconds = 1.0;
  AdaptiveThreads();
  int update();
  int threads() const { return threads_; }
  int side_by_side_threads() const { return side_by_side_threads_; }  // 0: none

 private:
  LoadBesidesOurThreads load_;
  Clock::time_point last_check_;
  int threads_;
  int side_by_side_threads_ = 0;
};

// Runs every task on one thread of an OpenMP team of `threads`, handing them out in order as threads become
// free; what a task runs in parallel (oneDNN, LibTorch, OpenMP loops) runs on its thread alone, nested regions
// being inactive. One wait at the end instead of one per layer: a thread on a core shared with other work
// holds up only its own tasks. Rethrows the first exception a task threw once all have ended.
void run_side_by_side(const std::vector<std::function<void()>>& tasks, int threads);

// The thread count for `free_cores` cores (fractional) out of `usable` cores: rounded, at least 1. A thread on a
// core that is busy half the time or more makes every layer wait for it, so such a core gets no thread.
int threads_for_free_cores(double free_cores, int usable);

}  // namespace efficientad::detail
