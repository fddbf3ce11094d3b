// Stand-in for map_postprocess.cu in builds without the CUDA toolkit: it reports that clearly instead of failing
// to link.
#include "efficientad/errors.h"
#include "ops/map_postprocess.h"

namespace efficientad::ops::cuda {

void postprocess_maps(const float*, const float*, const MapGrid&, const MapQuantiles&, float*, float*, float*, void*) {
  throw DeviceError("this build has no CUDA kernels: install the CUDA toolkit (nvcc) and rebuild with -Dcuda=enabled");
}

bool device_available() { return false; }

}  // namespace efficientad::ops::cuda
