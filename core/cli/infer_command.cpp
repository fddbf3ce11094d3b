#include <chrono>
#include <cstdio>
#include <filesystem>
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
    "  --threshold X          decision threshold (default: the model's calibrated one)\n"
    "  --batch N              images per network call (default 1)\n"
    "  --device auto|cpu|cuda where to run (default auto)\n"
    "  --threads N            CPU threads (default: one per core)\n"
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

// Heatmap file name that stays unique when several folders hold files of the same name (test/crack/000.png).
std::string heatmap_name(const std::string& file) {
  const fs::path p(file);
  const std::string parent = p.parent_path().filename().string();
  return (parent.empty() ? "" : parent + "_") + p.stem().string() + "_heatmap.png";
}

}  // namespace

int infer_command(const std::vector<std::string>& argv) {
  const Args args(argv, {"model", "output", "mode", "threshold", "batch", "device", "threads"},
                  {"no-heatmaps", "fail-on-anomaly"});
  const std::string model = args.get("model");
  if (model.empty()) throw UsageError("give --model MODEL");
  if (args.positionals().empty()) throw UsageError("give at least one image or folder to score");
  const std::vector<std::string> files = expand_inputs(args.positionals());
  const int batch = int(args.get_int("batch", 1, 1, 256));
  const std::string output = args.get("output");
  const bool heatmaps = !output.empty() && !args.flag("no-heatmaps");

  DetectorOptions options;
  options.mode = args.get_parsed("mode", "fast", parse_mode);
  options.device = args.get_parsed("device", "auto", parse_device);
  options.threads = int(args.get_int("threads", 0, 0, 1024));
  Detector detector(model, options);
  if (args.has("threshold")) detector.set_threshold(float(args.get_double("threshold", 0)));
  if (detector.info().provenance.teacher_random) {
    std::fprintf(stderr, "note: this model was trained with a random teacher; expect weaker detection\n");
  }

  // scores.csv is written whole at the end (atomically): a reader never sees half a table.
  const std::string csv_path = output.empty() ? "" : (fs::path(output) / "scores.csv").string();
  std::ostringstream csv;
  if (!output.empty()) {
    std::error_code ec;
    fs::create_directories(output, ec);
    if (ec) throw IoError("cannot create output folder " + output + ": " + ec.message());
    csv << "file,score,anomalous,threshold\n";
  }

  std::printf("%10s  %-9s  %s\n", "score", "decision", "file");
  int anomalous = 0;
  double network_ms = 0;
  for (size_t first = 0; first < files.size(); first += size_t(batch)) {
    std::vector<Image> images;
    std::vector<ImageView> views;
    for (size_t i = first; i < std::min(files.size(), first + size_t(batch)); ++i) images.push_back(load_image(files[i]));
    for (const auto& image : images) views.push_back(image.view());
    const auto start = std::chrono::steady_clock::now();
    const std::vector<Detection> results = detector.detect(views);
    network_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    for (size_t k = 0; k < results.size(); ++k) {
      const Detection& d = results[k];
      const std::string& file = files[first + k];
      anomalous += d.anomalous;
      std::printf("%10.4f  %-9s  %s\n", d.score, d.anomalous ? "ANOMALY" : "ok", file.c_str());
      if (!output.empty()) csv << csv_field(file) << "," << d.score << "," << int(d.anomalous) << "," << detector.threshold() << "\n";
      if (heatmaps) {
        save_png((fs::path(output) / heatmap_name(file)).string(),
                 render_heatmap(views[k], d.map, d.score, detector.threshold()).view());
      }
    }
  }
  std::printf("%zu images, %d anomalous (threshold %.4f), %.1f ms per image (%s mode, %s)\n", files.size(), anomalous,
              detector.threshold(), network_ms / double(files.size()), mode_name(detector.mode()),
              device_name(detector.device()));
  if (!output.empty()) {
    save_text(csv_path, csv.str());
    std::printf("wrote %s%s\n", csv_path.c_str(), heatmaps ? " and heatmaps" : "");
  }
  return args.flag("fail-on-anomaly") && anomalous > 0 ? 3 : 0;
}

}  // namespace efficientad::cli
