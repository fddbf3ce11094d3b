// Where LibTorch runs: device resolution, CPU threads and CPU features.
#pragma once

#include <c10/core/Device.h>

#include "efficientad/options.h"

namespace efficientad::detail {

// Resolves Auto and checks that the device exists; throws DeviceError.
Device resolve_device(Device requested);
c10::Device torch_device(Device resolved);

// Sets LibTorch's CPU thread count (0 = one per core); LibTorch starts with one thread on some systems.
void set_cpu_threads(int threads);

// Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX); without it the fast paths stay in fp32.
bool cpu_has_native_bf16();

}  // namespace efficientad::detail
