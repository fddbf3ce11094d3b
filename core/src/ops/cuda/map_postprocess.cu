// CUDA twin of cpu/map_postprocess.cpp: one thread per output pixel, sampling the normalised, zero-bordered map
// on the fly so that no padded intermediate is allocated.
#include <cuda_runtime.h>

#include <string>

#include "efficientad/errors.h"
#include "ops/map_postprocess.h"

namespace efficientad::ops::cuda {

namespace {

struct Normaliser {
  float st_a, st_scale, ae_a, ae_scale;
};

// Value of the normalised local (which=0), global (1) or combined (2) map at a padded-grid cell.
__device__ float padded_cell(const float* st, const float* ae, int px, int py, const MapGrid& g, const Normaliser& n,
                             int which) {
  const int x = px - g.border, y = py - g.border;
  if (x < 0 || y < 0 || x >= g.feature_width || y >= g.feature_height) return 0.0f;
  const int i = y * g.feature_width + x;
  const float local = (st[i] - n.st_a) * n.st_scale;
  const float global = (ae[i] - n.ae_a) * n.ae_scale;
  return which == 0 ? local : which == 1 ? global : 0.5f * local + 0.5f * global;
}

__device__ void axis_sample(int o, int in_size, int out_size, int& i0, int& i1, float& w1) {
  const float scale = float(in_size) / float(out_size);
  const float src = fmaxf(scale * (float(o) + 0.5f) - 0.5f, 0.0f);
  i0 = min(int(src), in_size - 1);
  i1 = min(i0 + 1, in_size - 1);
  w1 = src - float(i0);
}

__global__ void postprocess_kernel(const float* st, const float* ae, MapGrid g, Normaliser n, float* combined,
                                   float* local, float* global) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= g.out_width || y >= g.out_height) return;
  const int pw = g.feature_width + 2 * g.border, ph = g.feature_height + 2 * g.border;
  int x0, x1, y0, y1;
  float wx, wy;
  axis_sample(x, pw, g.out_width, x0, x1, wx);
  axis_sample(y, ph, g.out_height, y0, y1, wy);
  float* outs[3] = {local, global, combined};
  for (int which = 0; which < 3; ++which) {
    if (!outs[which]) continue;
    const float a = padded_cell(st, ae, x0, y0, g, n, which), b = padded_cell(st, ae, x1, y0, g, n, which);
    const float c = padded_cell(st, ae, x0, y1, g, n, which), d = padded_cell(st, ae, x1, y1, g, n, which);
    const float top = a + wx * (b - a), bottom = c + wx * (d - c);
    outs[which][size_t(y) * g.out_width + x] = top + wy * (bottom - top);
  }
}

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw DeviceError(std::string("CUDA ") + what + ": " + cudaGetErrorString(status));
}

}  // namespace

void postprocess_maps(const float* map_st, const float* map_ae, const MapGrid& g, const MapQuantiles& q,
                      float* combined_out, float* local_out, float* global_out, void* stream) {
  check_postprocess_inputs(map_st, map_ae, g, q, combined_out);
  const Normaliser n{q.st_a, 0.1f / (q.st_b - q.st_a), q.ae_a, 0.1f / (q.ae_b - q.ae_a)};
  const dim3 block(32, 8);
  const dim3 blocks((g.out_width + block.x - 1) / block.x, (g.out_height + block.y - 1) / block.y);
  postprocess_kernel<<<blocks, block, 0, static_cast<cudaStream_t>(stream)>>>(map_st, map_ae, g, n, combined_out,
                                                                               local_out, global_out);
  check(cudaGetLastError(), "map post-processing launch");
}

bool device_available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

}  // namespace efficientad::ops::cuda
