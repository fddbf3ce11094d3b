#include "progress_line.h"

#include <unistd.h>

#include <cstdio>

namespace efficientad::cli {

ProgressLine::ProgressLine(bool quiet, int log_lines_per_phase)
    : quiet_(quiet), tty_(isatty(STDERR_FILENO)), buckets_(log_lines_per_phase) {}

bool ProgressLine::due(int phase, int64_t step, int64_t total) {
  if (quiet_) return false;
  const bool phase_end = step == total;
  const int bucket = total > 0 ? int(buckets_ * step / total) : buckets_;
  const auto now = std::chrono::steady_clock::now();
  if (!phase_end && tty_ && now - last_ < std::chrono::milliseconds(200)) return false;
  if (!phase_end && !tty_ && bucket == last_bucket_ && phase == last_phase_) return false;
  last_ = now;
  last_bucket_ = bucket;
  last_phase_ = phase;
  return true;
}

void ProgressLine::print(const char* text, bool last_of_phase) {
  std::fprintf(stderr, tty_ ? "\r%-150s" : "%s\n", text);
  if (tty_ && last_of_phase) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace efficientad::cli
