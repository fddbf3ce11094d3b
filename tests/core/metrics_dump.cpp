// Writes random evaluation cases (image scores, anomaly maps with coarse values so that ties occur, masks with
// blob-shaped defects) and the engine's metrics on them, for metrics_reference.py to recompute independently.
//   metrics_dump SEED CASE_FILE RESULT_FILE
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <vector>

#include "efficientad/metrics.h"

using namespace efficientad;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s SEED CASE_FILE RESULT_FILE\n", argv[0]);
    return 2;
  }
  std::mt19937 rng(unsigned(std::atoi(argv[1])));
  std::uniform_int_distribution<int> coarse(0, 40);
  std::ofstream cases(argv[2]);
  PixelEvaluator pixels;
  std::vector<float> scores;
  std::vector<int> groups;
  for (int i = 0; i < 14; ++i) {
    const int group = i < 5 ? 0 : 1 + i % 2;  // 0 good, 1 and 2 two defect types
    const int w = 20 + int(rng() % 20), h = 12 + int(rng() % 16);
    AnomalyMap map{w, h, std::vector<float>(size_t(w) * size_t(h))};
    std::vector<uint8_t> mask(map.values.size(), 0);
    for (int blob = 0; group > 0 && blob < 1 + int(rng() % 3); ++blob) {  // ellipses, some touching
      const int cx = int(rng() % unsigned(w)), cy = int(rng() % unsigned(h));
      const int rx = 1 + int(rng() % 6), ry = 1 + int(rng() % 4);
      for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
          const double dx = double(x - cx) / rx, dy = double(y - cy) / ry;
          if (dx * dx + dy * dy <= 1.0) mask[size_t(y) * size_t(w) + size_t(x)] = 255;
        }
      }
    }
    for (size_t p = 0; p < map.values.size(); ++p) {  // defects score higher on average, with much overlap
      map.values[p] = float(coarse(rng) + (mask[p] ? 12 : 0)) / 40.0f;
    }
    const float score = float(coarse(rng) + (group ? 10 : 0)) / 40.0f;
    pixels.add(map, mask, group);
    scores.push_back(score);
    groups.push_back(group);
    cases << "image " << group << " " << score << " " << w << " " << h << "\n";
    for (float v : map.values) cases << v << " ";
    cases << "\n";
    for (uint8_t m : mask) cases << int(m) << " ";
    cases << "\n";
  }

  std::ofstream results(argv[3]);
  results.precision(12);
  for (const std::vector<int>& subset : {std::vector<int>{0, 1}, std::vector<int>{0, 2}, std::vector<int>{0, 1, 2}}) {
    std::vector<float> s;
    std::vector<bool> anomalous;
    for (size_t i = 0; i < scores.size(); ++i) {
      for (int g : subset) {
        if (groups[i] == g) {
          s.push_back(scores[i]);
          anomalous.push_back(g != 0);
        }
      }
    }
    const SegmentationMetrics m = pixels.compute(subset);
    results << "subset";
    for (int g : subset) results << " " << g;
    results << "\nimage_auroc " << auroc(s, anomalous) << "\nimage_f1_max " << f1_max(s, anomalous)
            << "\npixel_auroc " << m.pixel_auroc << "\naupro30 " << m.aupro30 << "\naupro5 " << m.aupro5;
    for (size_t k = 0; k < 3; ++k) {
      results << "\naupro30_q" << k + 1 << " " << m.aupro30_quartile[k] << "\naupro5_q" << k + 1 << " " << m.aupro5_quartile[k];
    }
    results << "\nregions " << m.regions << "\n";
  }
  return 0;
}
