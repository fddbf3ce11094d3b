#include <cstdio>
#include <cstdlib>
#include <memory>
#include <filesystem>
#include <string>

#include "args.h"
#include "commands.h"
#include "efficientad/errors.h"
#include "efficientad/evaluation.h"
#include "efficientad/image_io.h"
#include "training_cli.h"

namespace fs = std::filesystem;

namespace efficientad::cli {

const char* const kEvalUsage =
    "usage: efficientad eval --data DATASET (--model MODEL | --steps N [training options]) [options]\n"
    "\n"
    "Evaluates on a dataset in MVTec AD layout (train/good, test/good, test/<defect>, ground_truth/<defect>/\n"
    "<stem>_mask.png): image AUROC and F1-max, pixel AUROC, AU-PRO up to 30 % and 5 % FPR, and AU-PRO by defect\n"
    "size quartile, per defect type and overall, with the maps at the masks' full resolution; and the decisions at\n"
    "the threshold: false alarms on good images and defective images found.\n"
    "With --steps instead of --model it first trains on DATASET/train/good (the model goes to OUTPUT/model.efad).\n"
    "\n"
    "  --data DATASET         dataset folder in MVTec AD layout\n"
    "  --model MODEL          model file to evaluate\n"
    "  --output DIR           write eval.json (and with --heatmaps, heatmaps/<defect>/<image>.png) into DIR\n"
    "  --heatmaps             PNGs of input | ground truth | anomaly map for every test image (needs --output)\n"
    "  --mode fast|exact      inference mode (default fast)\n"
    "  --convolutions winograd|direct\n"
    "                         fp32 convolutions as Winograd products (default) or direct, as the paper's code\n"
    "  --autoencoder int8|float\n"
    "                         fast mode's autoencoder decoder in int8 (default, models trained since it) or in\n"
    "                         bf16/fp32 as the rest of it\n"
    "  --threshold X          decision threshold (default: the model's calibrated one)\n"
    "  --quiet                no progress\n"
    "training options (with --steps):\n";

namespace {

// A fresh folder of this process only (so that two evaluations never share a model file), removed with its
// contents when it goes out of scope.
class PrivateFolder {
 public:
  PrivateFolder() {
    std::string pattern = (fs::temp_directory_path() / "efficientad-eval-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw IoError("cannot create a temporary folder in " + fs::temp_directory_path().string());
    path_ = pattern;
  }
  ~PrivateFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  PrivateFolder(const PrivateFolder&) = delete;
  PrivateFolder& operator=(const PrivateFolder&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

int eval_command(const std::vector<std::string>& argv) {
  std::set<std::string> options = kTrainingOptionNames;
  options.insert({"data", "model", "output", "mode", "convolutions", "autoencoder", "threshold"});
  std::set<std::string> flags = kTrainingFlagNames;
  flags.insert("heatmaps");
  const Args args(argv, options, flags);
  if (!args.positionals().empty()) throw UsageError("unexpected argument '" + args.positionals().front() + "'");
  const std::string data = args.get("data");
  if (data.empty()) throw UsageError("give --data DATASET (a folder in MVTec AD layout)");
  const std::string output = args.get("output");
  if (args.flag("heatmaps") && output.empty()) throw UsageError("--heatmaps needs --output DIR");
  std::string model = args.get("model");
  if (model.empty() == !args.has("steps")) throw UsageError("give either --model MODEL or --steps N (train first)");
  const bool quiet = args.flag("quiet");
  std::unique_ptr<PrivateFolder> scratch;  // the trained model when there is no --output: removed at the end

  const MvtecDataset dataset = read_mvtec_dataset(data);  // before training, so that a bad layout fails at once
  if (!output.empty()) {
    std::error_code ec;
    fs::create_directories(output, ec);
    if (ec) throw IoError("cannot create output folder " + output + ": " + ec.message());
  }
  DetectorOptions detector_options;
  detector_options.mode = args.get_parsed("mode", "fast", parse_mode);
  detector_options.convolutions = args.get_parsed("convolutions", "winograd", parse_convolutions);
  detector_options.autoencoder = args.get_parsed("autoencoder", "int8", parse_fast_autoencoder);
  if (model.empty()) {
    const TrainOptions training = training_options_from(args);
    if (output.empty()) scratch = std::make_unique<PrivateFolder>();
    model = ((output.empty() ? fs::path(scratch->path()) : fs::path(output)) / "model.efad").string();
    train_from_folders({dataset.train_folder}, training, model, quiet);
    detector_options.device = training.device;
    detector_options.threads = training.threads;
  } else {
    detector_options.device = args.get_parsed("device", "auto", parse_device);
    detector_options.threads = int(args.get_int("threads", 0, 0, 1024));
  }

  Detector detector(model, detector_options);
  if (args.has("threshold")) detector.set_threshold(float(args.get_double("threshold", 0)));
  EvaluationOptions evaluation;
  if (args.flag("heatmaps")) evaluation.heatmap_folder = (fs::path(output) / "heatmaps").string();
  if (!quiet) {
    evaluation.progress = [](size_t done, size_t total) {
      if (done == total || done % 25 == 0) std::fprintf(stderr, "evaluated %zu/%zu test images\n", done, total);
    };
  }
  const EvaluationReport report = evaluate(detector, dataset, evaluation);
  std::fputs(report.table().c_str(), stdout);
  if (!output.empty()) {
    const fs::path json = fs::path(output) / "eval.json";
    save_text(json.string(), report.json());
    std::printf("wrote %s%s\n", json.c_str(), args.flag("heatmaps") ? " and heatmaps/" : "");
  }
  return 0;
}

}  // namespace efficientad::cli
