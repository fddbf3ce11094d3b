// The progress output of long commands (train, eval --steps, distill): a live line on a terminal, a line per
// fraction of each phase in logs and CI.
#pragma once

#include <chrono>
#include <cstdint>

namespace efficientad::cli {

class ProgressLine {
 public:
  // log_lines_per_phase: how many lines a phase prints at most when stderr is not a terminal.
  ProgressLine(bool quiet, int log_lines_per_phase);

  // Whether a report of `step` of `total` in `phase` should be printed: always at a phase's end; on a terminal
  // at most five times a second; in a log once per 1/log_lines_per_phase of the phase.
  bool due(int phase, int64_t step, int64_t total);
  // Prints `text` (over the previous one on a terminal); `last_of_phase` ends the terminal line.
  void print(const char* text, bool last_of_phase);

 private:
  bool quiet_, tty_;
  int buckets_;
  std::chrono::steady_clock::time_point last_{};
  int last_bucket_ = -1;
  int last_phase_ = -1;
};

}  // namespace efficientad::cli
