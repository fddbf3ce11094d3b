// Elapsed time for progress reports and provenance.
#pragma once

#include <chrono>

namespace efficientad::detail {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

inline double milliseconds_since(Clock::time_point start) { return 1000.0 * seconds_since(start); }

}  // namespace efficientad::detail
