// Algorithm 2, lines 7-10, for one image: quantile-normalise the local (student-teacher) and global
// (student-autoencoder) feature-resolution maps, combine them 0.5/0.5, surround them with `border` cells of zeros
// and resize bilinearly to out_width x out_height (align_corners=false, the semantics of
// torch.nn.functional.interpolate). Normalising before resizing equals the paper's order because both steps are
// affine per pixel; the zero border is in normalised units, as in the reference implementation.
//
// cpu:: and cuda:: are twins with one contract (torchvision's layout): the CPU version is the reference the CUDA
// version is tested against. Both check their inputs with check_postprocess_inputs.
#pragma once

#include "efficientad/errors.h"
#include "efficientad/model.h"

namespace efficientad::ops {

struct MapGrid {
  int feature_width, feature_height;  // size of map_st / map_ae
  int border;                         // zero cells added on each side before resizing
  int out_width, out_height;
};

// Throws InvalidArgument for a grid that cannot be resized, degenerate quantiles or a missing required buffer.
inline void check_postprocess_inputs(const float* map_st, const float* map_ae, const MapGrid& g, const MapQuantiles& q,
                                     const float* combined_out) {
  if (g.feature_width <= 0 || g.feature_height <= 0 || g.border < 0 || g.out_width <= 0 || g.out_height <= 0) {
    throw InvalidArgument("postprocess_maps: invalid map grid");
  }
  if (!map_st || !map_ae || !combined_out) throw InvalidArgument("postprocess_maps: null map pointer");
  if (!(q.st_b > q.st_a) || !(q.ae_b > q.ae_a)) throw InvalidArgument("postprocess_maps: degenerate quantiles");
}

namespace cpu {
// local_out and global_out may be null. All maps are row-major float32 in host memory.
void postprocess_maps(const float* map_st, const float* map_ae, const MapGrid& grid, const MapQuantiles& q,
                      float* combined_out, float* local_out, float* global_out);
}  // namespace cpu

namespace cuda {
// Same contract on device memory; `stream` is a cudaStream_t (nullptr: the default stream).
// Throws DeviceError when the build has no CUDA or a launch fails.
void postprocess_maps(const float* map_st, const float* map_ae, const MapGrid& grid, const MapQuantiles& q,
                      float* combined_out, float* local_out, float* global_out, void* stream);

// Whether this build has CUDA kernels and this machine a usable CUDA device.
bool device_available();
}  // namespace cuda

}  // namespace efficientad::ops
