#include "common/cpu_threads.h"

#include <omp.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>

#include "common/device.h"
#include "efficientad/errors.h"

namespace efficientad::detail {

int usable_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return int(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
}

namespace {

// The cores the calling thread may run on, in increasing order; empty where the kernel does not say.
std::vector<int> allowed_cores() {
  cpu_set_t set;
  std::vector<int> cores;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cores;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cores.push_back(c);
  }
  return cores;
}

// Restricts the calling thread to `core`; false where the kernel refuses. Takes no lock (a forked child's use).
bool pin_to_core(int core) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(core, &one);
  return sched_setaffinity(0, sizeof one, &one) == 0;
}

}  // namespace

BusyCore::BusyCore() {
  const std::vector<int> cores = allowed_cores();
  core_ = cores.empty() ? 0 : cores.back();
  pid_ = fork();
  if (pid_ == 0) {  // the child only spins: nothing here may take a lock the parent's threads held
    pin_to_core(core_);
    for (volatile uint64_t spin = 0;; spin = spin + 1) {
    }
  }
  if (pid_ < 0) throw Error("cannot start a busy process: " + std::string(std::strerror(errno)));
}

BusyCore::~BusyCore() {
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

int threads_for_free_cores(double free_cores, int usable) {
  if (!std::isfinite(free_cores)) return 1;
  return std::clamp(int(std::lround(std::clamp(free_cores, 0.0, 1e6))), 1, std::max(1, usable));
}

namespace {

// Thread ids of the calling thread's OpenMP team of `size` threads. libgomp keeps a team's threads and gives a
// smaller team the first of them, so these cover every thread count up to `size`.
std::vector<int> openmp_team_ids(int size) {
  std::vector<int> ids(size_t(size), 0);
#pragma omp parallel num_threads(size)
  ids[size_t(omp_get_thread_num())] = int(syscall(SYS_gettid));
  ids.erase(std::remove(ids.begin(), ids.end(), 0), ids.end());
  return ids;
}

// utime + stime (fields 14 and 15) of a /proc stat line; -1 where it cannot be parsed.
int64_t cpu_jiffies(const std::string& stat_line) {
  const size_t after_name = stat_line.rfind(')');  // the command name may contain spaces
  if (after_name == std::string::npos || after_name + 2 > stat_line.size()) return -1;
  std::istringstream fields(stat_line.substr(after_name + 2));
  std::string field;
  int64_t utime = -1, stime = -1;
  for (int i = 3; i <= 15 && fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) stime = std::atoll(field.c_str());
  }
  return utime < 0 || stime < 0 ? -1 : utime + stime;
}

}  // namespace

LoadBesidesOurThreads::LoadBesidesOurThreads() : team_(openmp_team_ids(usable_cores())) {
  cpus_ = int(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  valid_ = read(busy_, total_, ours_);
}

// busy and total: all cores' jiffies from /proc/stat's "cpu" line (busy: not idle, not waiting for I/O; steal
// counts as busy, the hypervisor gave it to someone else); ours: the team's user + system jiffies.
bool LoadBesidesOurThreads::read(int64_t& busy, int64_t& total, int64_t& ours) const {
  std::ifstream stat("/proc/stat");
  std::string label;
  int64_t v[8] = {};  // user nice system idle iowait irq softirq steal
  if (!(stat >> label) || label != "cpu") return false;
  for (int64_t& x : v) {
    if (!(stat >> x)) return false;
  }
  busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  total = busy + v[3] + v[4];
  ours = 0;
  for (int id : team_) {
    std::ifstream thread_stat("/proc/self/task/" + std::to_string(id) + "/stat");
    std::string line;
    const int64_t jiffies = std::getline(thread_stat, line) ? cpu_jiffies(line) : -1;
    if (jiffies < 0) return false;
    ours += jiffies;
  }
  return true;
}

double LoadBesidesOurThreads::sample() {
  int64_t busy, total, ours;
  if (!read(busy, total, ours)) return valid_ = false, -1;
  const bool had_previous = valid_;
  const int64_t d_busy = busy - busy_, d_total = total - total_, d_ours = ours - ours_;
  busy_ = busy, total_ = total, ours_ = ours, valid_ = true;
  if (!had_previous || d_total < 10 * cpus_) return -1;  // under 0.1 s per core: too coarse to tell
  const double rest = double(std::max<int64_t>(0, d_busy - d_ours)) / double(d_total) * cpus_;
  return std::min(rest, double(cpus_));
}

AdaptiveThreads::AdaptiveThreads() : last_check_(Clock::now()), threads_(usable_cores()) { set_cpu_threads(threads_); }

int AdaptiveThreads::update() {
  if (seconds_since(last_check_) < kIntervalSeconds) return threads_;
  last_check_ = Clock::now();
  const double rest = load_.sample();
  if (rest < 0) return threads_;
  const int usable = usable_cores();
  const int wanted = threads_for_free_cores(usable - rest, usable);
  side_by_side_threads_ = wanted == 1 && usable > 1 ? usable : 0;
  if (wanted != threads_) {
    threads_ = wanted;
    set_cpu_threads(threads_);
  }
  return threads_;
}

namespace {

// Pins the calling thread to one core for its lifetime and then gives it back its former cores. Unpinned, the
// scheduler often stacks two of our threads on the free core and leaves the busy one to the other process.
class PinnedToCore {
 public:
  explicit PinnedToCore(int core)
      : pinned_(sched_getaffinity(0, sizeof former_, &former_) == 0 && pin_to_core(core)) {}
  ~PinnedToCore() {
    if (pinned_) sched_setaffinity(0, sizeof former_, &former_);
  }
  PinnedToCore(const PinnedToCore&) = delete;
  PinnedToCore& operator=(const PinnedToCore&) = delete;

 private:
  cpu_set_t former_;
  bool pinned_;
};

}  // namespace

void run_side_by_side(const std::vector<std::function<void()>>& tasks, int threads) {
  const std::vector<int> cores = allowed_cores();
  std::exception_ptr first_error;
  std::mutex error_mutex;
  const auto count = int64_t(tasks.size());
#pragma omp parallel num_threads(std::max(1, threads))
  {
    // One thread per core: each adds what its core has to spare, the free core's thread taking more tasks.
    std::optional<PinnedToCore> pinned;
    if (!cores.empty()) pinned.emplace(cores[size_t(omp_get_thread_num()) % cores.size()]);
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < count; ++i) {
      try {
        omp_set_num_threads(1);  // for this task's nested regions, should nesting be active
        tasks[size_t(i)]();
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
      }
    }
  }
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace efficientad::detail
