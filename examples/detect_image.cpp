// The smallest program that uses the engine: score one image and save its heatmap.
//   detect_image MODEL IMAGE HEATMAP.png
#include <cstdio>

#include "efficientad/detector.h"
#include "efficientad/errors.h"
#include "efficientad/overlay.h"
#include "efficientad/image_io.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL IMAGE HEATMAP.png\n", argv[0]);
    return 2;
  }
  try {
    efficientad::Detector detector(argv[1]);  // fast mode, best device
    const efficientad::Image image = efficientad::load_image(argv[2]);
    const efficientad::Detection d = detector.detect(image.view());
    std::printf("score %.4f threshold %.4f -> %s\n", d.score, detector.threshold(), d.anomalous ? "ANOMALY" : "ok");
    efficientad::save_png(argv[3], efficientad::render_heatmap(image.view(), d.map, d.score, detector.threshold()).view());
    return d.anomalous ? 3 : 0;
  } catch (const efficientad::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
