// The learning rate of every training step (Algorithm 1 uses Adam at 1e-4 for 70 000 steps and a tenth of it for
// the last 5 %; a CPU budget of ~1000 steps is 70x shorter, which the cosine schedule is for).
#pragma once

#include <cstdint>
#include <string>

#include "efficientad/options.h"

namespace efficientad::detail {

// Peak learning rate of a schedule when the user gives none.
double default_peak_learning_rate(Schedule schedule);

// The rate of 0-based `step` of `steps`. Paper: `peak`, then peak / 10 from 95 % of the steps. Cosine: a linear
// warm-up over the first 5 % (Adam's early moments are noisy at a high rate), then a half cosine down to 0.
double learning_rate_at(Schedule schedule, double peak, int64_t step, int64_t steps);

// For the model's provenance and `info`, e.g. "cosine (Adam, peak 0.0005, 5 % warm-up)".
std::string describe_schedule(Schedule schedule, double peak);

}  // namespace efficientad::detail
