#include "efficientad/evaluation.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "common/timing.h"
#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "efficientad/overlay.h"

namespace fs = std::filesystem;

namespace efficientad {

namespace {

// MVTec names masks <stem>_mask.png; some datasets in the same layout use <stem>.png.
std::string find_mask(const fs::path& mask_folder, const std::string& image_path) {
  const std::string stem = fs::path(image_path).stem().string();
  for (const std::string& name : {stem + "_mask.png", stem + ".png"}) {
    std::error_code ec;
    if (fs::is_regular_file(mask_folder / name, ec)) return (mask_folder / name).string();
  }
  throw InvalidArgument("no ground-truth mask for " + image_path + ": expected " +
                        (mask_folder / (stem + "_mask.png")).string());
}

// 0/255 bytes of a mask file, any channel count (the first channel is read).
std::vector<uint8_t> read_mask(const std::string& path, int expected_width, int expected_height,
                               const std::string& image_path) {
  const Image mask = load_image(path);
  if (mask.width() != expected_width || mask.height() != expected_height) {
    throw InvalidArgument("mask " + path + " is " + std::to_string(mask.width()) + "x" + std::to_string(mask.height()) +
                          " but its image " + image_path + " is " + std::to_string(expected_width) + "x" +
                          std::to_string(expected_height));
  }
  const int channels = bytes_per_pixel(mask.format());
  std::vector<uint8_t> values(size_t(mask.width()) * size_t(mask.height()));
  for (size_t i = 0; i < values.size(); ++i) values[i] = mask.data()[i * size_t(channels)];
  return values;
}

// input | ground truth (defects white) | anomaly map over the input, side by side.
Image triptych(const ImageView& input, const std::vector<uint8_t>& mask, const Detection& d, float threshold) {
  const Image heat = render_heatmap(input, d.map, d.score, threshold);
  OverlayStyle nothing;  // the input as it is, in RGB
  nothing.alpha = 0;
  nothing.outline = nothing.label = false;
  const Image original = render_heatmap(input, d.map, d.score, threshold, nothing);
  const int w = heat.width(), h = heat.height();
  Image out(3 * w, h, PixelFormat::Rgb8);
  for (int y = 0; y < h; ++y) {
    uint8_t* row = out.data() + size_t(y) * size_t(3 * w) * 3;
    std::memcpy(row, original.data() + size_t(y) * size_t(w) * 3, size_t(w) * 3);
    for (int x = 0; x < w; ++x) {
      const uint8_t v = mask.empty() ? 0 : (mask[size_t(y) * size_t(w) + size_t(x)] >= 128 ? 255 : 0);
      std::memset(row + size_t(w + x) * 3, v, 3);
    }
    std::memcpy(row + size_t(2 * w) * 3, heat.data() + size_t(y) * size_t(w) * 3, size_t(w) * 3);
  }
  return out;
}

}  // namespace

MvtecDataset read_mvtec_dataset(const std::string& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw InvalidArgument("dataset folder not found: " + folder);
  MvtecDataset d;
  d.root = folder;
  d.train_folder = (fs::path(folder) / "train" / "good").string();
  const fs::path test = fs::path(folder) / "test";
  if (!fs::is_directory(test / "good", ec)) {
    throw InvalidArgument("not an MVTec-layout dataset: " + (test / "good").string() +
                          " is missing (expected train/good, test/good, test/<defect>, ground_truth/<defect>)");
  }
  for (const auto& entry : fs::directory_iterator(test, ec)) {
    if (entry.is_directory() && entry.path().filename() != "good") d.defect_types.push_back(entry.path().filename().string());
  }
  std::sort(d.defect_types.begin(), d.defect_types.end());
  if (d.defect_types.empty()) throw InvalidArgument("no defect folders in " + test.string() + ": nothing to evaluate");
  for (const auto& path : list_image_files((test / "good").string())) d.test.push_back({path, "", "good"});
  for (const auto& type : d.defect_types) {
    const fs::path masks = fs::path(folder) / "ground_truth" / type;
    for (const auto& path : list_image_files((test / type).string())) d.test.push_back({path, find_mask(masks, path), type});
  }
  return d;
}

namespace {

std::string describe_setup(const Detector& detector) {
  const ModelInfo& info = detector.info();
  return std::string("EfficientAD-") + variant_name(info.geometry.variant) + ", " +
         std::to_string(info.geometry.input_width) + "x" + std::to_string(info.geometry.input_height) + ", padding " +
         (info.geometry.padding ? "on" : "off") + ", " + std::to_string(info.provenance.steps) + " steps, teacher " +
         info.provenance.teacher_origin + ", " + mode_name(detector.mode()) + " mode on " +
         device_name(detector.device());
}

// One folder per defect type (and good), made before any image is scored.
void make_heatmap_folders(const std::string& root, std::vector<std::string> types) {
  types.push_back("good");
  for (const std::string& type : types) {
    const fs::path out = fs::path(root) / type;
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) throw IoError("cannot create " + out.string() + ": " + ec.message());
  }
}

// The image's ground truth at its own resolution (all normal where it has no mask).
std::vector<uint8_t> mask_of(const DatasetImage& item, const Image& image) {
  return item.mask_path.empty() ? std::vector<uint8_t>(size_t(image.width()) * size_t(image.height()), 0)
                                : read_mask(item.mask_path, image.width(), image.height(), item.path);
}

// Image metrics over the images of `groups`, pixel metrics from the evaluator.
EvaluationRow metrics_row(const std::string& name, const std::vector<int>& groups, const EvaluationReport& report,
                          const std::vector<int>& image_groups, PixelEvaluator& pixels) {
  EvaluationRow r;
  r.name = name;
  std::vector<float> scores;
  std::vector<bool> is_defect;
  for (size_t i = 0; i < report.images.size(); ++i) {
    if (std::find(groups.begin(), groups.end(), image_groups[i]) == groups.end()) continue;
    scores.push_back(report.images[i].score);
    is_defect.push_back(image_groups[i] != 0);
    (image_groups[i] == 0 ? r.good_images : r.defect_images)++;
    if (report.images[i].anomalous) (image_groups[i] == 0 ? r.false_alarms : r.detected)++;
  }
  r.image_auroc = auroc(scores, is_defect);
  r.image_f1_max = f1_max(scores, is_defect);
  r.pixels = pixels.compute(groups);
  return r;
}

}  // namespace

EvaluationReport evaluate(Detector& detector, const MvtecDataset& dataset, const EvaluationOptions& options) {
  EvaluationReport report;
  report.dataset = dataset.root;
  report.model_id = detector.info().model_id;
  report.threshold = detector.threshold();
  report.setup = describe_setup(detector);
  if (!options.heatmap_folder.empty()) make_heatmap_folders(options.heatmap_folder, dataset.defect_types);

  // Group 0 holds the good images, group k the k-th defect type.
  auto group_of = [&](const std::string& type) {
    const auto it = std::find(dataset.defect_types.begin(), dataset.defect_types.end(), type);
    return it == dataset.defect_types.end() ? 0 : int(it - dataset.defect_types.begin()) + 1;
  };
  PixelEvaluator pixels;
  std::vector<int> image_groups;
  double detect_ms = 0;
  for (size_t i = 0; i < dataset.test.size(); ++i) {
    const DatasetImage& item = dataset.test[i];
    const Image image = load_image(item.path);
    const std::vector<uint8_t> mask = mask_of(item, image);
    if (!item.mask_path.empty() && std::none_of(mask.begin(), mask.end(), [](uint8_t v) { return v >= 128; })) {
      report.empty_masks++;
    }
    MapOptions at_mask_resolution;
    at_mask_resolution.map_width = image.width();
    at_mask_resolution.map_height = image.height();
    const auto start = detail::Clock::now();
    const Detection d = detector.detect(image.view(), at_mask_resolution);
    detect_ms += detail::milliseconds_since(start);

    const int group = group_of(item.defect_type);
    pixels.add(d.map, mask, group);
    image_groups.push_back(group);
    report.images.push_back({item.path, item.defect_type, d.score, d.anomalous});
    if (!options.heatmap_folder.empty()) {
      const fs::path out = fs::path(options.heatmap_folder) / item.defect_type;
      save_png((out / (fs::path(item.path).stem().string() + ".png")).string(),
               triptych(image.view(), item.mask_path.empty() ? std::vector<uint8_t>{} : mask, d, report.threshold).view());
    }
    if (options.progress) options.progress(i + 1, dataset.test.size());
  }
  report.ms_per_image = dataset.test.empty() ? 0 : detect_ms / double(dataset.test.size());

  std::vector<int> all_groups = {0};
  for (size_t k = 0; k < dataset.defect_types.size(); ++k) {
    report.rows.push_back(metrics_row(dataset.defect_types[k], {0, int(k) + 1}, report, image_groups, pixels));
    all_groups.push_back(int(k) + 1);
  }
  report.rows.push_back(metrics_row("overall", all_groups, report, image_groups, pixels));
  report.size_quartiles = pixels.size_quartiles();
  return report;
}

}  // namespace efficientad
