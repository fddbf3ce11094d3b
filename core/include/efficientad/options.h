// The choices shared by inference and training: where the networks run and in which precision.
#pragma once

#include <string>

namespace efficientad {

// Where the networks run. Auto picks CUDA when this build and machine have it, else the CPU.
enum class Device { Auto, Cpu, Cuda };
const char* device_name(Device device);
Device parse_device(const std::string& text);  // "auto", "cpu", "cuda"/"gpu"; throws InvalidArgument

// Inference. Exact: fp32 and the paper's formulas. Fast: reduced precision and folded normalisations (README).
enum class Mode { Exact, Fast };
const char* mode_name(Mode mode);
Mode parse_mode(const std::string& text);  // "exact", "fast"; throws InvalidArgument

// How fp32 convolutions run on a CPU (exact mode, and fast mode's autoencoder where it is fp32). Winograd: 3x3
// and 4x4 layers as Winograd products, 4x fewer multiplications, maps within 1e-4 of direct ones (docs/RESULTS.md).
// Direct: the direct convolutions the paper's code runs. Builds without oneDNN always run Direct.
enum class Convolutions { Winograd, Direct };
const char* convolutions_name(Convolutions convolutions);
Convolutions parse_convolutions(const std::string& text);  // "winograd", "direct"; throws InvalidArgument

// Fast mode's autoencoder on a CPU with oneDNN. Int8: its largest decoder layers (dec5..dec8, 90 % of its MACs)
// in 8 bits, where the model carries their calibration (models trained since the int8 decoder); the encoder and
// the small decoder layers in the float dtype below. Float: all of it in bf16 where bf16 outruns fp32, else fp32.
enum class FastAutoencoder { Int8, Float };
const char* fast_autoencoder_name(FastAutoencoder autoencoder);
FastAutoencoder parse_fast_autoencoder(const std::string& text);  // "int8", "float"; throws InvalidArgument

// Training and distillation arithmetic. Exact: fp32. Fast: bf16 autocast where bf16 outruns fp32 (cpu_bf16_outruns_fp32).
enum class Precision { Exact, Fast };
const char* precision_name(Precision precision);
Precision parse_precision(const std::string& text);  // "exact", "fast"; throws InvalidArgument

// Training's learning rate over the steps (training/schedule.h). Paper: Algorithm 1's constant rate with a tenth
// of it at the end. Cosine: warm-up, a higher peak and a decay to 0, for short CPU budgets.
enum class Schedule { Paper, Cosine };
const char* schedule_name(Schedule schedule);
Schedule parse_schedule(const std::string& text);  // "paper", "cosine"; throws InvalidArgument

// The pretraining penalty's images where no folder of natural images is given (training/dead_leaves.h).
enum class Penalty { Off, DeadLeaves };
const char* penalty_name(Penalty penalty);
Penalty parse_penalty(const std::string& text);  // "off", "dead-leaves"; throws InvalidArgument

}  // namespace efficientad
