#include "efficientad/synthetic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "part_render.h"

namespace fs = std::filesystem;

namespace efficientad {

using part_render::kPi;
using part_render::Scene;

namespace {

// Dark conveyor belt: fine noise, a weave along x and uneven lighting.
cv::Mat render_belt(Scene& s) {
  cv::Mat noise = s.noise(7.0);
  cv::GaussianBlur(noise, noise, cv::Size(3, 3), 0.8);
  cv::Mat belt(s.size, s.size, CV_32FC3);
  const double light_angle = s.uniform(0, 2 * kPi);
  for (int y = 0; y < s.size; ++y) {
    for (int x = 0; x < s.size; ++x) {
      const double weave = 4.0 * std::sin(2 * kPi * x / 6.0);
      const double light = 0.9 + 0.15 * ((x - s.size / 2.0) * std::cos(light_angle) +
                                         (y - s.size / 2.0) * std::sin(light_angle)) / s.size;
      const float n = noise.at<float>(y, x);
      belt.at<cv::Vec3f>(y, x) = cv::Vec3f(float((52 + weave + n) * light), float((64 + weave + n) * light),
                                           float((50 + weave + n) * light));
    }
  }
  return belt;
}

// Brushed steel with concentric turning marks, darker bevels at the edges.
cv::Mat render_metal(Scene& s) {
  cv::Mat noise = s.noise(5.0);
  cv::GaussianBlur(noise, noise, cv::Size(5, 5), 1.2);
  cv::Mat metal(s.size, s.size, CV_32FC3);
  const double phase = s.uniform(0, 2 * kPi);
  for (int y = 0; y < s.size; ++y) {
    for (int x = 0; x < s.size; ++x) {
      const double r = std::hypot(x - s.centre.x, y - s.centre.y);
      const double marks = 7.0 * std::sin(2 * kPi * r / 3.2 + phase);
      const double edge = std::min(std::abs(r - s.inner), std::abs(s.outer - r));
      const double bevel = edge < 4.0 ? 0.75 + 0.0625 * edge : 1.0;
      const double v = (160.0 + marks + noise.at<float>(y, x)) * bevel * s.brightness;
      metal.at<cv::Vec3f>(y, x) = cv::Vec3f(float(v), float(v * 1.02), float(v * 1.08));
    }
  }
  return metal;
}

cv::Point hole_centre(const Scene& s, int k) {
  const double a = s.hole_angle + k * kPi / 2;
  return cv::Point(int(std::lround(s.centre.x + s.hole_ring * std::cos(a))),
                   int(std::lround(s.centre.y + s.hole_ring * std::sin(a))));
}

// Pixels that belong to the part (ring minus bolt holes), 255 inside.
cv::Mat part_mask(const Scene& s, int skip_hole) {
  cv::Mat mask = cv::Mat::zeros(s.size, s.size, CV_8UC1);
  cv::circle(mask, s.centre, int(s.outer), cv::Scalar(255), cv::FILLED, cv::LINE_AA);
  cv::circle(mask, s.centre, int(s.inner), cv::Scalar(0), cv::FILLED, cv::LINE_AA);
  for (int k = 0; k < 4; ++k) {
    if (k != skip_hole) cv::circle(mask, hole_centre(s, k), int(s.hole_radius), cv::Scalar(0), cv::FILLED, cv::LINE_AA);
  }
  return mask;
}

cv::Point random_point_on_part(Scene& s) {
  const double a = s.uniform(0, 2 * kPi);
  const double r = s.uniform(s.inner + 8, s.outer - 8);
  return cv::Point(int(s.centre.x + r * std::cos(a)), int(s.centre.y + r * std::sin(a)));
}

// Draws a defect onto the metal layer `image` (or, for a chip, removes part pixels) and marks it in `coverage`.
void draw_defect(Scene& s, const std::string& kind, cv::Mat& image, cv::Mat& part, cv::Mat& coverage) {
  cv::Mat layer = image.clone();
  if (kind == "scratch") {  // a chord along the ring, so that it stays on the part
    const double polar = s.uniform(0, 2 * kPi), radius = s.uniform(s.inner + 0.3 * (s.outer - s.inner), s.outer - 6);
    const cv::Point a(int(s.centre.x + radius * std::cos(polar)), int(s.centre.y + radius * std::sin(polar)));
    const double angle = polar + kPi / 2 + s.uniform(-0.5, 0.5), length = s.uniform(0.12, 0.22) * s.size;
    const cv::Point b(int(a.x + length * std::cos(angle)), int(a.y + length * std::sin(angle)));
    const double tone = s.uniform(0, 1) < 0.5 ? 245.0 : 55.0;
    const int thickness = std::max(2, int(s.uniform(0.008, 0.014) * s.size));
    cv::line(layer, a, b, cv::Scalar(tone, tone, tone), thickness, cv::LINE_AA);
    cv::line(coverage, a, b, cv::Scalar(255), thickness + 2, cv::LINE_8);
  } else if (kind == "crack") {
    cv::Point p = random_point_on_part(s);
    double heading = s.uniform(0, 2 * kPi);
    const int segments = int(s.uniform(10, 18));
    for (int i = 0; i < segments; ++i) {
      heading += s.uniform(-0.7, 0.7);
      const double step = s.uniform(3, 6);
      const cv::Point q(int(p.x + step * std::cos(heading)), int(p.y + step * std::sin(heading)));
      cv::line(layer, p, q, cv::Scalar(35, 33, 30), 2, cv::LINE_AA);
      cv::line(coverage, p, q, cv::Scalar(255), 4, cv::LINE_8);
      p = q;
    }
  } else if (kind == "spot") {
    const cv::Point c = random_point_on_part(s);
    const cv::Size axes(int(s.uniform(4, 9)), int(s.uniform(3, 7)));
    const double angle = s.uniform(0, 180);
    cv::Mat stain = image.clone();
    cv::ellipse(stain, c, axes, angle, 0, 360, cv::Scalar(120, 78, 45), cv::FILLED, cv::LINE_AA);
    cv::GaussianBlur(stain, stain, cv::Size(5, 5), 1.0);
    cv::Mat where = cv::Mat::zeros(image.size(), CV_8UC1);
    cv::ellipse(where, c, axes + cv::Size(2, 2), angle, 0, 360, cv::Scalar(255), cv::FILLED);
    stain.copyTo(layer, where);
    cv::ellipse(coverage, c, axes, angle, 0, 360, cv::Scalar(255), cv::FILLED);
  } else if (kind == "chip") {
    const double a = s.uniform(0, 2 * kPi);
    const cv::Point c(int(s.centre.x + s.outer * std::cos(a)), int(s.centre.y + s.outer * std::sin(a)));
    const int radius = int(s.uniform(0.05, 0.08) * s.size);
    cv::Mat bite = cv::Mat::zeros(image.size(), CV_8UC1);
    cv::circle(bite, c, radius, cv::Scalar(255), cv::FILLED, cv::LINE_AA);
    cv::Mat removed;
    cv::bitwise_and(bite, part, removed);
    coverage |= removed;
    part &= ~bite;  // the caller re-composes the part over the belt with this smaller mask
    return;
  }
  cv::Mat on_part;
  cv::bitwise_and(coverage, part, on_part);
  coverage = on_part;
  layer.copyTo(image, part);
}

}  // namespace

std::vector<std::string> synthetic_defect_kinds() { return {"scratch", "crack", "spot", "chip", "missing_hole"}; }

namespace part_render {

Scene make_scene(int size, uint64_t seed) {
  Scene s{std::mt19937_64(seed), size, {}, 0, 0, 0, 0, 0, 0};
  s.centre = cv::Point2d(size / 2.0 + s.uniform(-0.03, 0.03) * size, size / 2.0 + s.uniform(-0.03, 0.03) * size);
  s.outer = size * s.uniform(0.355, 0.365);
  s.inner = size * 0.14;
  s.hole_ring = size * 0.25;
  s.hole_radius = size * 0.035;
  s.hole_angle = s.uniform(-6, 6) * kPi / 180;
  s.brightness = s.uniform(0.92, 1.08);
  return s;
}

void check_defect_kind(const std::string& defect) {
  const auto kinds = synthetic_defect_kinds();
  if (!defect.empty() && std::find(kinds.begin(), kinds.end(), defect) == kinds.end()) {
    throw InvalidArgument("unknown synthetic defect kind '" + defect + "'");
  }
}

PartLayer render_part(Scene& s, const std::string& defect) {
  PartLayer layer;
  layer.metal = render_metal(s);
  const int missing = defect == "missing_hole" ? int(s.uniform(0, 4)) : -1;
  layer.part = part_mask(s, missing);
  layer.coverage = cv::Mat::zeros(s.size, s.size, CV_8UC1);
  if (missing >= 0) {
    cv::circle(layer.coverage, hole_centre(s, missing), int(s.hole_radius) + 1, cv::Scalar(255), cv::FILLED);
  }
  if (!defect.empty() && missing < 0) draw_defect(s, defect, layer.metal, layer.part, layer.coverage);
  return layer;
}

cv::Mat place_part(const cv::Mat& belt, const PartLayer& layer) {
  cv::Mat shadow;
  layer.part.convertTo(shadow, CV_32FC1, 1.0 / 255);
  cv::GaussianBlur(shadow, shadow, cv::Size(0, 0), 3.0);
  const cv::Mat offset = (cv::Mat_<double>(2, 3) << 1, 0, 3, 0, 1, 4);
  cv::warpAffine(shadow, shadow, offset, shadow.size());
  cv::Mat shade;
  cv::merge(std::vector<cv::Mat>(3, 1.0 - 0.45 * shadow), shade);
  cv::Mat image = belt.mul(shade);
  layer.metal.copyTo(image, layer.part);
  return image;
}

}  // namespace part_render

Image render_synthetic_part(int size, uint64_t seed, const std::string& defect, Image* mask_out) {
  if (size < 64) throw InvalidArgument("synthetic images need at least 64 pixels per side");
  part_render::check_defect_kind(defect);
  Scene s = part_render::make_scene(size, seed);
  const cv::Mat belt = render_belt(s);  // drawn before the part: the random sequence of the published dataset
  const part_render::PartLayer layer = part_render::render_part(s, defect);
  const cv::Mat image = part_render::place_part(belt, layer);

  Image out(size, size, PixelFormat::Rgb8);
  image.convertTo(cv::Mat(size, size, CV_8UC3, out.data()), CV_8UC3);
  if (mask_out) {
    *mask_out = Image(size, size, PixelFormat::Gray8);
    layer.coverage.copyTo(cv::Mat(size, size, CV_8UC1, mask_out->data()));
  }
  return out;
}

int write_synthetic_dataset(const std::string& folder, const SyntheticOptions& o) {
  if (o.train_good < 2 || o.test_good < 1 || o.test_defective_per_kind < 1) {
    throw InvalidArgument("the synthetic dataset needs at least 2 training, 1 good and 1 defective test image");
  }
  std::error_code ec;
  auto make = [&](const fs::path& p) {
    fs::create_directories(p, ec);
    if (ec) throw IoError("cannot create folder " + p.string() + ": " + ec.message());
    return p;
  };
  const fs::path root(folder);
  int written = 0;
  uint64_t index = 0;
  auto name = [](int i) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%03d", i);
    return std::string(buffer);
  };
  const fs::path train = make(root / "train" / "good");
  for (int i = 0; i < o.train_good; ++i, ++written) {
    save_png((train / (name(i) + ".png")).string(), render_synthetic_part(o.size, o.seed * 1000003 + index++, "", nullptr).view());
  }
  const fs::path test_good = make(root / "test" / "good");
  for (int i = 0; i < o.test_good; ++i, ++written) {
    save_png((test_good / (name(i) + ".png")).string(),
             render_synthetic_part(o.size, o.seed * 1000003 + index++, "", nullptr).view());
  }
  for (const auto& kind : synthetic_defect_kinds()) {
    const fs::path images = make(root / "test" / kind);
    const fs::path masks = make(root / "ground_truth" / kind);
    for (int i = 0; i < o.test_defective_per_kind; ++i, ++written) {
      Image mask;
      const Image part = render_synthetic_part(o.size, o.seed * 1000003 + index++, kind, &mask);
      save_png((images / (name(i) + ".png")).string(), part.view());
      save_png((masks / (name(i) + "_mask.png")).string(), mask.view());
    }
  }
  return written;
}

}  // namespace efficientad
