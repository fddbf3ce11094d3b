#pragma once

#include <vector>

namespace efficientad::detail {

// The q-quantile of `values` with linear interpolation between order statistics (numpy's default and
// torch.quantile). Partially reorders `values`; no size limit. Throws InvalidArgument when empty or q not in [0, 1].
double quantile(std::vector<float>& values, double q);

}  // namespace efficientad::detail
