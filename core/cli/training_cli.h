// What `train` and `eval --steps` share: the training options, the progress bar, Ctrl-C handling.
#pragma once

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "args.h"
#include "efficientad/trainer.h"

namespace efficientad::cli {

// Names of the options that configure training (each takes a value), and the flags.
extern const std::set<std::string> kTrainingOptionNames;
extern const std::set<std::string> kTrainingFlagNames;
// The lines of the usage text that describe them.
extern const char* const kTrainingOptionsUsage;

// Installs SIGINT/SIGTERM handlers (once) and returns the flag they set, for the engine's `cancel` arguments.
const std::atomic<bool>* interrupt_flag();
// "12m05s", "1h07m".
std::string clock_text(double seconds);

TrainOptions training_options_from(const Args& args);

// Loads the folders, trains with a progress bar on stderr (none when quiet), stops cleanly on Ctrl-C, and writes
// the model to `output`. Prints what was written.
TrainResult train_from_folders(const std::vector<std::string>& folders, const TrainOptions& options,
                               const std::string& output, bool quiet);

}  // namespace efficientad::cli
