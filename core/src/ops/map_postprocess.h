// Algorithm 2, lines 7-10, for one image: quantile-normalise the local (student-teacher) and global
// (student-autoencoder) feature-resolution maps, combine them 0.5/0.5, surround them with `border` cells of zeros
// and resize bilinearly to out_width x out_height (align_corners=false, the semantics of
// torch.nn.functional.interpolate). Normalising before resizing equals the paper's order because both steps are
// affine per pixel; the zero border is in normalised units, as in the reference implementation.
//
// The CPU version is the reference; the CUDA version (raw device pointers, current stream) must match it.
#pragma once

#include "efficientad/model.h"

namespace efficientad::ops {

struct MapGrid {
  int feature_width, feature_height;  // size of map_st / map_ae
  int border;                         // zero cells added on each side before resizing
  int out_width, out_height;
};

// local_out and global_out may be null. All maps are row-major float32.
void postprocess_maps_cpu(const float* map_st, const float* map_ae, const MapGrid& grid, const MapQuantiles& q,
                          float* combined_out, float* local_out, float* global_out);

// Same contract on device memory; `stream` is a cudaStream_t (nullptr: the default stream).
// Throws DeviceError when the build has no CUDA or a launch fails.
void postprocess_maps_cuda(const float* map_st, const float* map_ae, const MapGrid& grid, const MapQuantiles& q,
                           float* combined_out, float* local_out, float* global_out, void* stream);

// Whether this build has CUDA kernels and this machine a usable CUDA device.
bool cuda_available();

}  // namespace efficientad::ops
