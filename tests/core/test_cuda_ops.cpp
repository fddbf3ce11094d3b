// The CUDA map post-processing kernel against its CPU reference. Reports "skipped" (exit 77) where this build has
// no CUDA kernels or the machine no GPU.
#include "check_compat.h"
#include <cuda_runtime.h>

#include <cstdio>
#include <random>
#include <vector>

#include "ops/map_postprocess.h"
#include "test_helpers.h"

using namespace efficientad;

namespace {

float* to_device(const std::vector<float>& host) {
  float* device = nullptr;
  ck_assert_int_eq(cudaMalloc(&device, host.size() * sizeof(float)), cudaSuccess);
  ck_assert_int_eq(cudaMemcpy(device, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  return device;
}

}  // namespace

START_TEST(cuda_matches_cpu) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(0.0f, 2.0f);
  for (auto grid : {ops::MapGrid{56, 56, 4, 256, 256}, ops::MapGrid{72, 56, 4, 1920, 1080}, ops::MapGrid{64, 64, 0, 33, 7},
                    ops::MapGrid{3, 2, 1, 1, 1}}) {
    std::vector<float> st(size_t(grid.feature_width) * grid.feature_height), ae(st.size());
    for (auto& v : st) v = uniform(rng);
    for (auto& v : ae) v = 0.01f * uniform(rng);
    const MapQuantiles q{0.8f, 1.6f, 0.004f, 0.015f};
    const size_t out = size_t(grid.out_width) * grid.out_height;
    std::vector<float> cpu_combined(out), cpu_local(out), cpu_global(out);
    ops::cpu::postprocess_maps(st.data(), ae.data(), grid, q, cpu_combined.data(), cpu_local.data(), cpu_global.data());

    float *d_st = to_device(st), *d_ae = to_device(ae), *d_out[3];
    for (auto& p : d_out) ck_assert_int_eq(cudaMalloc(&p, out * sizeof(float)), cudaSuccess);
    ops::cuda::postprocess_maps(d_st, d_ae, grid, q, d_out[0], d_out[1], d_out[2], nullptr);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaSuccess);
    const std::vector<float>* expected[3] = {&cpu_combined, &cpu_local, &cpu_global};
    for (int k = 0; k < 3; ++k) {
      std::vector<float> gpu(out);
      ck_assert_int_eq(cudaMemcpy(gpu.data(), d_out[k], out * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
      for (size_t i = 0; i < out; ++i) ck_assert_float_eq_tol(gpu[i], (*expected[k])[i], 1e-6f);
      cudaFree(d_out[k]);
    }
    cudaFree(d_st);
    cudaFree(d_ae);
  }
}
END_TEST

int main() {
  if (!ops::cuda::device_available()) {
    std::puts("SKIP: no CUDA device on this machine");
    return 77;
  }
  return test::run_cases("cuda_ops", {
      {"cuda", TESTS(cuda_matches_cpu)},
  }, test::Fork::None);
}
