// Networks with random weights, plausible teacher statistics and an int8 calibration, for tests that need the
// networks themselves rather than a model file (write_random_model in fixtures.h saves these).
#pragma once

#include "efficientad/model.h"
#include "model/model_file.h"

namespace test {

efficientad::detail::Networks random_networks(const efficientad::ModelGeometry& geometry, unsigned seed);

}  // namespace test
