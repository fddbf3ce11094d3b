#include "training/quantile.h"

#include <algorithm>
#include <cmath>

#include "efficientad/errors.h"

namespace efficientad::detail {

double quantile(std::vector<float>& values, double q) {
  if (values.empty()) throw InvalidArgument("quantile of an empty set");
  if (!(q >= 0.0 && q <= 1.0)) throw InvalidArgument("quantile level must lie in [0, 1]");
  const double position = q * double(values.size() - 1);
  const size_t lower = size_t(std::floor(position));
  std::nth_element(values.begin(), values.begin() + lower, values.end());
  const double low = values[lower];
  if (lower + 1 >= values.size()) return low;
  const double high = *std::min_element(values.begin() + lower + 1, values.end());
  return low + (position - double(lower)) * (high - low);
}

}  // namespace efficientad::detail
