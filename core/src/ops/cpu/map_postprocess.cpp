#include "ops/map_postprocess.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace efficientad::ops::cpu {

namespace {

// One axis of a bilinear resize with align_corners=false: source index pair and weight per output index.
struct AxisSample {
  int i0, i1;
  float w1;  // weight of i1; i0 gets 1 - w1
};

std::vector<AxisSample> axis_samples(int in_size, int out_size) {
  std::vector<AxisSample> samples(out_size);
  const float scale = float(in_size) / float(out_size);
  for (int o = 0; o < out_size; ++o) {
    const float src = std::max(scale * (float(o) + 0.5f) - 0.5f, 0.0f);
    const int i0 = std::min(int(src), in_size - 1);
    const int i1 = std::min(i0 + 1, in_size - 1);
    samples[o] = {i0, i1, src - float(i0)};
  }
  return samples;
}

void resize_bilinear(const std::vector<float>& in, int in_w, int in_h, float* out, int out_w, int out_h) {
  const auto xs = axis_samples(in_w, out_w);
  const auto ys = axis_samples(in_h, out_h);
#pragma omp parallel for if (size_t(out_w) * out_h > 262144)
  for (int y = 0; y < out_h; ++y) {
    const float* r0 = &in[size_t(ys[y].i0) * in_w];
    const float* r1 = &in[size_t(ys[y].i1) * in_w];
    const float wy = ys[y].w1;
    float* dst = out + size_t(y) * out_w;
    for (int x = 0; x < out_w; ++x) {
      const AxisSample& s = xs[x];
      const float top = r0[s.i0] + s.w1 * (r0[s.i1] - r0[s.i0]);
      const float bottom = r1[s.i0] + s.w1 * (r1[s.i1] - r1[s.i0]);
      dst[x] = top + wy * (bottom - top);
    }
  }
}

}  // namespace

void postprocess_maps(const float* map_st, const float* map_ae, const MapGrid& g, const MapQuantiles& q,
                      float* combined_out, float* local_out, float* global_out) {
  check_postprocess_inputs(map_st, map_ae, g, q, combined_out);
  const int pw = g.feature_width + 2 * g.border;
  const int ph = g.feature_height + 2 * g.border;
  std::vector<float> local(size_t(pw) * ph, 0.0f), global(local.size(), 0.0f), combined(local.size(), 0.0f);
  const float st_scale = 0.1f / (q.st_b - q.st_a);
  const float ae_scale = 0.1f / (q.ae_b - q.ae_a);
  for (int y = 0; y < g.feature_height; ++y) {
    for (int x = 0; x < g.feature_width; ++x) {
      const size_t src = size_t(y) * g.feature_width + x;
      const size_t dst = size_t(y + g.border) * pw + (x + g.border);
      local[dst] = (map_st[src] - q.st_a) * st_scale;
      global[dst] = (map_ae[src] - q.ae_a) * ae_scale;
      combined[dst] = 0.5f * local[dst] + 0.5f * global[dst];
    }
  }
  resize_bilinear(combined, pw, ph, combined_out, g.out_width, g.out_height);
  if (local_out) resize_bilinear(local, pw, ph, local_out, g.out_width, g.out_height);
  if (global_out) resize_bilinear(global, pw, ph, global_out, g.out_width, g.out_height);
}

}  // namespace efficientad::ops::cpu
