// efficientad: train, run and inspect EfficientAD anomaly detection models from the command line.
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "config.h"
#include "efficientad/errors.h"
#include "training_cli.h"

namespace {

const char* const kUsage =
    "usage: efficientad <command> [options]\n"
    "\n"
    "commands:\n"
    "  train   train a model from folders of normal images\n"
    "  infer   score images with a model; write a table and heatmap PNGs\n"
    "  eval    image and pixel metrics (AUROC, F1, AU-PRO) on a dataset in MVTec AD layout\n"
    "  info    show what a model file holds\n"
    "  import-teacher  convert a pretrained PyTorch teacher (.pth) into a teacher file\n"
    "  distill distil a teacher from a pretrained backbone on natural images (Algorithm 3)\n"
    "  bench   time the naive, exact and fast paths on this machine\n"
    "  synth   render the demonstration dataset (machined parts with defects)\n"
    "  conveyor  render the main job's conveyor video (parts passing a camera, some defective)\n"
    "\n"
    "'efficientad <command> --help' shows the options of a command.\n";

struct Command {
  const char* name;
  int (*run)(const std::vector<std::string>&);
  const char* usage;
  bool training_options = false;  // its usage continues with the training options
};

int out_of_memory(const char* command) {
  std::fprintf(stderr, "efficientad %s: error: out of memory: the input needs more memory than this machine has "
               "free (use smaller images or a smaller --input-size, or free memory)\n", command);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace efficientad::cli;
  const Command commands[] = {
      {"train", train_command, kTrainUsage, true}, {"infer", infer_command, kInferUsage},
      {"eval", eval_command, kEvalUsage, true},    {"info", info_command, kInfoUsage},
      {"bench", bench_command, kBenchUsage},        {"synth", synth_command, kSynthUsage},
      {"import-teacher", import_teacher_command, kImportTeacherUsage},
      {"distill", distill_command, kDistillUsage},   {"conveyor", conveyor_command, kConveyorUsage},
  };
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("efficientad %s\n", EFFICIENTAD_VERSION);
    return 0;
  }
  const std::vector<std::string> args(argv + 2, argv + argc);
  for (const Command& c : commands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    for (const auto& a : args) {
      if (a == "--help" || a == "-h") {
        std::printf("%s%s", c.usage, c.training_options ? kTrainingOptionsUsage : "");
        return 0;
      }
    }
    try {
      return c.run(args);
    } catch (const UsageError& e) {
      std::fprintf(stderr, "efficientad %s: %s\n\n%s%s", c.name, e.what(), c.usage,
                   c.training_options ? kTrainingOptionsUsage : "");
      return 2;
    } catch (const efficientad::Cancelled& e) {
      std::fprintf(stderr, "\nefficientad %s: %s\n", c.name, e.what());
      return 130;
    } catch (const efficientad::Error& e) {
      std::fprintf(stderr, "efficientad %s: error: %s\n", c.name, e.what());
      return 1;
    } catch (const std::bad_alloc&) {
      return out_of_memory(c.name);
    } catch (const std::exception& e) {
      if (std::strstr(e.what(), "can't allocate memory")) return out_of_memory(c.name);  // LibTorch's allocator
      std::fprintf(stderr, "efficientad %s: internal error (please report): %s\n", c.name, e.what());
      return 70;
    }
  }
  std::fprintf(stderr, "efficientad: unknown command '%s'\n\n%s", argv[1], kUsage);
  return 2;
}
