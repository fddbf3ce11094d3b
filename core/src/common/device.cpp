#include "common/device.h"

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>

#include "efficientad/errors.h"

namespace efficientad::detail {

Device resolve_device(Device requested) {
  const bool cuda = at::detail::getCUDAHooks().hasCUDA();
  if (requested == Device::Cuda && !cuda) {
    throw DeviceError(
        "device 'cuda' requested but LibTorch reports no usable CUDA device. Debian's libtorch-dev is CPU-only: "
        "build against a CUDA LibTorch (meson setup -Dlibtorch_dir=/path/to/libtorch) on a machine with an NVIDIA "
        "GPU, or use device 'cpu' / 'auto'");
  }
  if (requested == Device::Auto) return cuda ? Device::Cuda : Device::Cpu;
  return requested;
}

c10::Device torch_device(Device resolved) {
  return resolved == Device::Cuda ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU);
}

void set_cpu_threads(int threads) {
  const int n = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
}

bool cpu_has_native_bf16() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) == 0) {
      return line.find(" avx512_bf16") != std::string::npos || line.find(" amx_bf16") != std::string::npos;
    }
  }
  return false;
}

}  // namespace efficientad::detail
