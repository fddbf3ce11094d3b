#include "training/schedule.h"

#include <cmath>
#include <sstream>

namespace efficientad::detail {

namespace {
constexpr double kPaperDecayAt = 0.95;
constexpr double kWarmUpFraction = 0.05;
}  // namespace

double default_peak_learning_rate(Schedule schedule) { return schedule == Schedule::Paper ? 1e-4 : 5e-4; }

double learning_rate_at(Schedule schedule, double peak, int64_t step, int64_t steps) {
  if (schedule == Schedule::Paper) {
    return step >= int64_t(kPaperDecayAt * double(steps)) ? 0.1 * peak : peak;
  }
  const double warm_up = std::max(1.0, kWarmUpFraction * double(steps));
  if (double(step) < warm_up) return peak * double(step + 1) / warm_up;
  const double progress = (double(step) - warm_up) / std::max(1.0, double(steps) - warm_up);
  return peak * 0.5 * (1.0 + std::cos(M_PI * progress));
}

std::string describe_schedule(Schedule schedule, double peak) {
  std::ostringstream s;
  s << schedule_name(schedule) << " (Adam, ";
  if (schedule == Schedule::Paper) {
    s << peak << ", a tenth of it for the last 5 %)";
  } else {
    s << "peak " << peak << ", 5 % warm-up, cosine decay)";
  }
  return s.str();
}

}  // namespace efficientad::detail
