#include "common/device.h"

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include <algorithm>
#include <fstream>
#include <initializer_list>
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

namespace {

// The first line of /proc/cpuinfo that starts with `key` ("flags", "vendor_id"), with a trailing space so that
// the last word matches " word " too; empty where there is none.
std::string cpuinfo_line(const char* key) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind(key, 0) == 0) return line + ' ';
  }
  return {};
}

bool cpu_flags_include_any(std::initializer_list<const char*> flags) {
  const std::string line = cpuinfo_line("flags");
  return std::any_of(flags.begin(), flags.end(),
                     [&](const char* f) { return line.find(' ' + std::string(f) + ' ') != std::string::npos; });
}

}  // namespace

bool cpu_has_native_bf16() { return cpu_flags_include_any({"avx512_bf16", "amx_bf16"}); }

bool cpu_bf16_outruns_fp32() {
  const bool amd = cpuinfo_line("vendor_id").find("AuthenticAMD") != std::string::npos;
  return cpu_flags_include_any({"amx_bf16"}) || (amd && cpu_flags_include_any({"avx512_bf16"}));
}

}  // namespace efficientad::detail
