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

// Whether bf16 convolutions outrun fp32 ones here: with AMX tiles, or on AMD's AVX512-BF16 (Zen 4 issues one
// 32-MAC bf16 dot product per cycle per pipe but splits fp32 FMAs into 256-bit halves: fast mode with a bf16
// autoencoder took 0.90x the time of an fp32 one on a Zen 4 EPYC, `efficientad bench`). On Intel's AVX512-BF16
// without AMX a bf16 dot product does no more work per cycle than two fp32 FMAs and adds conversions (the
// autoencoder's convolutions took 1.6x their fp32 time on a Xeon), so fast inference stays in fp32 there, and so
// do fast training and distillation (a bf16 training step took 1.5x the fp32 one on a Xeon, `efficientad bench`).
bool cpu_bf16_outruns_fp32();

}  // namespace efficientad::detail
