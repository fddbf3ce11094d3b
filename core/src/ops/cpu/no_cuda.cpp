// Stand-ins used when the build has no CUDA toolkit: they report that clearly instead of failing to link.
#include "efficientad/errors.h"
#include "ops/map_postprocess.h"

namespace efficientad::ops {

void postprocess_maps_cuda(const float*, const float*, const MapGrid&, const MapQuantiles&, float*, float*, float*,
                           void*) {
  throw DeviceError("this build has no CUDA kernels: install the CUDA toolkit (nvcc) and rebuild with -Dcuda=enabled");
}

bool cuda_available() { return false; }

}  // namespace efficientad::ops
