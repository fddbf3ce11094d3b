#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include "args.h"
#include "commands.h"
#include "efficientad/detector.h"
#include "efficientad/errors.h"
#include "efficientad/overlay.h"
#include "efficientad/image_io.h"

namespace fs = std::filesystem;

namespace efficientad::cli {

const char* const kInferUsage =
    "usage: efficientad infer --model MODEL [options] IMAGE|FOLDER ...\n"
    "\n"
    "Scores images (paper Algorithm 2) and prints one line per image: score, decision, file.\n"
    "\n"
    "  --model MODEL          model file written by 'efficientad train'\n"
    "  --output DIR           write scores.csv and one heatmap PNG per image into DIR\n"
    "  --no-heatmaps          with --output, write scores.csv only\n"
    "  --mode fast|exact      fast (default) or exact fp32 inference\n"
    "  --convolutions winograd|direct\n"
    "                         fp32 convolutions as Winograd products (default) or direct, as the paper's code\n"
    "  --autoencoder int8|float\n"
    "                         fast mode's autoencoder decoder in int8 (default, models trained since it) or in\n"
    "                         bf16/fp32 as the rest of it\n"
    "  --threshold X          decision threshold (default: the model's calibrated one)\n"
    "  --batch N              images per network call (default 1)\n"
    "  --device auto|cpu|cuda where to run (default auto)\n"
    "  --threads N            CPU threads (default 0: one per core that other work leaves free)\n"
    "  --fail-on-anomaly      exit with status 3 when any image is anomalous\n";

namespace {

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    std::error_code ec;
    if (fs::is_directory(input, ec)) {
      const auto found = list_image_files(input);
      if (found.empty()) throw InvalidArgument("no images in folder " + input);
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(input);  // load_image reports missing or unreadable files
    }
  }
  return files;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// Heatmap file names: parent folder and stem (test/crack/000.png -> crack_000_heatmap.png), with -2, -3, ...
// when two inputs still share one (a/x/1.png and b/x/1.png), so that no heatmap overwrites another.
class HeatmapNames {
 public:
  std::string next(const std::string& file) {
    const fs::path p(file);
    const std::string parent = p.parent_path().filename().string();
    const std::string base = (parent.empty() ? "" : parent + "_") + p.stem().string() + "_heatmap";
    std::string name = base + ".png";
    for (int n = 2; !used_.insert(name).second; ++n) name = base + "-" + std::to_string(n) + ".png";
    return name;
  }

 private:
  std::set<std::string> used_;
};

// The table, scores.csv and heatmaps of one run. An image that cannot be read is reported and skipped: the run
// goes on, and ends with exit status 1.
class InferReport {
 public:
  InferReport(const std::string& output, bool heatmaps) : output_(output), heatmaps_(heatmaps) {
    if (!output.empty()) {
      std::error_code ec;
      fs::create_directories(output, ec);
      if (ec) throw IoError("cannot create output folder " + output + ": " + ec.message());
      csv_ << "file,score,anomalous,threshold,error\n";
    }
    std::printf("%10s  %-9s  %s\n", "score", "decision", "file");
  }

  void scored(const std::string& file, const ImageView& image, const Detection& d, float threshold) {
    anomalous_ += d.anomalous;
    scored_++;
    std::printf("%10.4f  %-9s  %s\n", d.score, d.anomalous ? "ANOMALY" : "ok", file.c_str());
    if (output_.empty()) return;
    csv_ << csv_field(file) << "," << d.score << "," << int(d.anomalous) << "," << threshold << ",\n";
    if (heatmaps_) {
      save_png((fs::path(output_) / names_.next(file)).string(),
               render_heatmap(image, d.map, d.score, threshold).view());
    }
  }

  void failed(const std::string& file, const std::string& error) {
    failed_++;
    std::printf("%10s  %-9s  %s\n", "-", "ERROR", file.c_str());
    std::fprintf(stderr, "efficientad infer: error: %s\n", error.c_str());
    if (!output_.empty()) csv_ << csv_field(file) << ",,,," << csv_field(error) << "\n";
  }

  // The summary line, then scores.csv, written whole (atomically): a reader never sees half a table.
  void finish(const Detector& detector, double network_ms) {
    std::printf("%d images scored, %d anomalous (threshold %.4f), %.1f ms per image (%s mode, %s)", scored_,
                anomalous_, detector.threshold(), scored_ ? network_ms / double(scored_) : 0.0,
                mode_name(detector.mode()), device_name(detector.device()));
    std::printf(failed_ ? "; %d could not be read\n" : "\n", failed_);
    if (output_.empty()) return;
    const std::string csv_path = (fs::path(output_) / "scores.csv").string();
    save_text(csv_path, csv_.str());
    std::printf("wrote %s%s\n", csv_path.c_str(), heatmaps_ ? " and heatmaps" : "");
  }

  int anomalous() const { return anomalous_; }
  int failures() const { return failed_; }

 private:
  std::string output_;
  bool heatmaps_;
  std::ostringstream csv_;
  HeatmapNames names_;
  int scored_ = 0, anomalous_ = 0, failed_ = 0;
};

}  // namespace

int infer_command(const std::vector<std::string>& argv) {
  const Args args(argv, {"model", "output", "mode", "convolutions", "autoencoder", "threshold", "batch", "device", "threads"},
                  {"no-heatmaps", "fail-on-anomaly"});
  const std::string model = args.get("model");
  if (model.empty()) throw UsageError("give --model MODEL");
  if (args.positionals().empty()) throw UsageError("give at least one image or folder to score");
  const std::vector<std::string> files = expand_inputs(args.positionals());
  const size_t batch = size_t(args.get_int("batch", 1, 1, 256));
  const std::string output = args.get("output");

  DetectorOptions options;
  options.mode = args.get_parsed("mode", "fast", parse_mode);
  options.convolutions = args.get_parsed("convolutions", "winograd", parse_convolutions);
  options.autoencoder = args.get_parsed("autoencoder", "int8", parse_fast_autoencoder);
  options.device = args.get_parsed("device", "auto", parse_device);
  options.threads = int(args.get_int("threads", 0, 0, 1024));
  Detector detector(model, options);
  if (args.has("threshold")) detector.set_threshold(float(args.get_double("threshold", 0)));
  if (detector.info().provenance.teacher_random) {
    std::fprintf(stderr, "note: this model was trained with a random teacher; expect weaker detection\n");
  }

  InferReport report(output, !output.empty() && !args.flag("no-heatmaps"));
  double network_ms = 0;
  for (size_t first = 0; first < files.size(); first += batch) {
    std::vector<std::string> names;
    std::vector<Image> images;
    for (size_t i = first; i < std::min(files.size(), first + batch); ++i) {
      try {
        images.push_back(load_image(files[i]));
        names.push_back(files[i]);
      } catch (const ImageError& e) {
        report.failed(files[i], e.what());
      }
    }
    std::vector<ImageView> views;
    for (const auto& image : images) views.push_back(image.view());
    const auto start = std::chrono::steady_clock::now();
    const std::vector<Detection> results = detector.detect(views);
    network_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    for (size_t k = 0; k < results.size(); ++k) report.scored(names[k], views[k], results[k], detector.threshold());
  }
  report.finish(detector, network_ms);
  if (report.failures() > 0) return 1;
  return args.flag("fail-on-anomaly") && report.anomalous() > 0 ? 3 : 0;
}

}  // namespace efficientad::cli
