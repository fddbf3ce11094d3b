// Names of the shared options, as the command line, the elements and the model files spell them.
#include "efficientad/options.h"

#include "common/text.h"
#include "efficientad/errors.h"

namespace efficientad {

const char* device_name(Device device) {
  switch (device) {
    case Device::Auto: return "auto";
    case Device::Cpu: return "cpu";
    case Device::Cuda: return "cuda";
  }
  return "?";
}

Device parse_device(const std::string& text) {
  const std::string t = detail::lower(text);
  if (t == "auto") return Device::Auto;
  if (t == "cpu") return Device::Cpu;
  if (t == "cuda" || t == "gpu") return Device::Cuda;
  throw InvalidArgument("unknown device '" + text + "': use auto, cpu or cuda");
}

const char* mode_name(Mode mode) { return mode == Mode::Exact ? "exact" : "fast"; }

Mode parse_mode(const std::string& text) {
  const std::string t = detail::lower(text);
  if (t == "exact") return Mode::Exact;
  if (t == "fast") return Mode::Fast;
  throw InvalidArgument("unknown mode '" + text + "': use exact or fast");
}

const char* convolutions_name(Convolutions convolutions) {
  return convolutions == Convolutions::Winograd ? "winograd" : "direct";
}

Convolutions parse_convolutions(const std::string& text) {
  const std::string t = detail::lower(text);
  if (t == "winograd") return Convolutions::Winograd;
  if (t == "direct") return Convolutions::Direct;
  throw InvalidArgument("unknown convolutions '" + text + "': use winograd or direct");
}

const char* fast_autoencoder_name(FastAutoencoder autoencoder) {
  return autoencoder == FastAutoencoder::Int8 ? "int8" : "float";
}

FastAutoencoder parse_fast_autoencoder(const std::string& text) {
  const std::string t = detail::lower(text);
  if (t == "int8") return FastAutoencoder::Int8;
  if (t == "float") return FastAutoencoder::Float;
  throw InvalidArgument("unknown autoencoder precision '" + text + "': use int8 or float");
}

const char* precision_name(Precision precision) { return precision == Precision::Exact ? "exact" : "fast"; }

Precision parse_precision(const std::string& text) {
  const std::string t = detail::lower(text);
  if (t == "exact") return Precision::Exact;
  if (t == "fast") return Precision::Fast;
  throw InvalidArgument("unknown precision '" + text + "': use exact or fast");
}

const char* schedule_name(Schedule schedule) { return schedule == Schedule::Paper ? "paper" : "cosine"; }

Schedule parse_schedule(const std::string& text) {
  const std::string t = detail::lower(text);
  if (t == "paper") return Schedule::Paper;
  if (t == "cosine") return Schedule::Cosine;
  throw InvalidArgument("unknown schedule '" + text + "': use paper or cosine");
}

const char* penalty_name(Penalty penalty) { return penalty == Penalty::Off ? "off" : "dead-leaves"; }

Penalty parse_penalty(const std::string& text) {
  const std::string t = detail::lower(text);
  if (t == "off") return Penalty::Off;
  if (t == "dead-leaves") return Penalty::DeadLeaves;
  throw InvalidArgument("unknown penalty '" + text + "': use off or dead-leaves");
}

}  // namespace efficientad
