// The subcommands of the efficientad tool. Each returns the process exit code; errors are thrown
// (UsageError -> exit 2, efficientad::Error -> exit 1) and reported by main().
#pragma once

#include <string>
#include <vector>

namespace efficientad::cli {

int train_command(const std::vector<std::string>& args);
int infer_command(const std::vector<std::string>& args);
int eval_command(const std::vector<std::string>& args);
int info_command(const std::vector<std::string>& args);
int bench_command(const std::vector<std::string>& args);
int synth_command(const std::vector<std::string>& args);
int conveyor_command(const std::vector<std::string>& args);
int import_teacher_command(const std::vector<std::string>& args);
int distill_command(const std::vector<std::string>& args);

extern const char* const kTrainUsage;
extern const char* const kInferUsage;
extern const char* const kEvalUsage;
extern const char* const kInfoUsage;
extern const char* const kBenchUsage;
extern const char* const kSynthUsage;
extern const char* const kConveyorUsage;
extern const char* const kImportTeacherUsage;
extern const char* const kDistillUsage;

}  // namespace efficientad::cli
