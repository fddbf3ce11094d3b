#include "training/dead_leaves.h"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "efficientad/errors.h"
#include "efficientad/model.h"

namespace efficientad::detail {

namespace {

constexpr double kPi = 3.14159265358979323846;
// Enough to cover all but a few pixels of the canvas at the smallest radius; the rest shows the background leaf.
constexpr int kMaxLeaves = 5000;

double uniform(std::mt19937_64& rng, double low, double high) {
  return std::uniform_real_distribution<double>(low, high)(rng);
}

// Inverse CDF of the density r^-3 on [low, high].
double power_law_radius(std::mt19937_64& rng, double low, double high) {
  const double a = 1.0 / (low * low), b = 1.0 / (high * high);
  return 1.0 / std::sqrt(a - uniform(rng, 0, 1) * (a - b));
}

// Photographs differ in exposure and dominant colour: each image draws its leaves' colours around its own
// centre, within its own spread.
struct Palette {
  cv::Vec3d centre;
  double spread;

  explicit Palette(std::mt19937_64& rng) : spread(uniform(rng, 60, 255)) {
    for (int c = 0; c < 3; ++c) centre[c] = uniform(rng, 0, 255);
  }
  cv::Vec3f colour(std::mt19937_64& rng) const {
    cv::Vec3f colour;
    for (int c = 0; c < 3; ++c) colour[c] = float(std::clamp(centre[c] + spread * uniform(rng, -0.5, 0.5), 0.0, 255.0));
    return colour;
  }
};

// The leaf's outline, filled with 255 into `mask` (its bounding box, clipped to the canvas); `centre` is in mask
// coordinates.
void draw_shape(cv::Mat& mask, cv::Point2d centre, double radius, std::mt19937_64& rng) {
  const int kind = std::uniform_int_distribution<int>(0, 2)(rng);
  if (kind == 0) {
    cv::circle(mask, cv::Point(cvRound(centre.x), cvRound(centre.y)), std::max(1, cvRound(radius)), 255, cv::FILLED);
    return;
  }
  std::vector<cv::Point> corners;
  if (kind == 1) {  // a rectangle of random aspect and angle
    cv::Point2f points[4];
    const double aspect = uniform(rng, 0.25, 1.0);
    cv::RotatedRect(cv::Point2f(float(centre.x), float(centre.y)),
                    cv::Size2f(float(2 * radius), float(2 * radius * aspect)), float(uniform(rng, 0, 180)))
        .points(points);
    for (const cv::Point2f& p : points) corners.emplace_back(cvRound(p.x), cvRound(p.y));
  } else {  // a convex polygon of 3 to 6 corners on the circle
    std::vector<double> angles(size_t(std::uniform_int_distribution<int>(3, 6)(rng)));
    for (double& a : angles) a = uniform(rng, 0, 2 * kPi);
    std::sort(angles.begin(), angles.end());
    for (double a : angles) {
      corners.emplace_back(cvRound(centre.x + radius * std::cos(a)), cvRound(centre.y + radius * std::sin(a)));
    }
  }
  cv::fillConvexPoly(mask, corners, 255);
}

// Flat, a linear gradient or stripes between two colours: t in [0, 1] at offset (dx, dy) from the leaf's centre.
struct Texture {
  enum class Kind { Flat, Gradient, Stripes } kind;
  cv::Vec3f from, to;
  double cos_angle, sin_angle, scale, phase;

  Texture(double radius, const Palette& palette, std::mt19937_64& rng)
      : kind(Kind(std::uniform_int_distribution<int>(0, 2)(rng))), from(palette.colour(rng)), to(palette.colour(rng)) {
    const double angle = uniform(rng, 0, kPi);
    cos_angle = std::cos(angle);
    sin_angle = std::sin(angle);
    scale = kind == Kind::Gradient ? 1.0 / (2 * radius) : 2 * kPi / uniform(rng, 2.0, std::max(3.0, radius));
    phase = uniform(rng, 0, 2 * kPi);
  }

  cv::Vec3f at(double dx, double dy) const {
    const double along = (dx * cos_angle + dy * sin_angle) * scale;
    double t = 0;
    if (kind == Kind::Gradient) t = std::clamp(0.5 + along, 0.0, 1.0);
    if (kind == Kind::Stripes) t = 0.5 + 0.5 * std::sin(along + phase);
    return from + (to - from) * float(t);
  }
};

// Paints one leaf where no earlier (nearer) leaf is; returns how many pixels it covered.
int paint_leaf(cv::Mat& canvas, cv::Mat& covered, const Palette& palette, std::mt19937_64& rng, double min_radius,
               double max_radius) {
  const double radius = power_law_radius(rng, min_radius, max_radius);
  const cv::Point2d centre(uniform(rng, -radius, canvas.cols + radius), uniform(rng, -radius, canvas.rows + radius));
  const cv::Rect box = cv::Rect(cvFloor(centre.x - radius), cvFloor(centre.y - radius), 2 * cvCeil(radius) + 2,
                                2 * cvCeil(radius) + 2) & cv::Rect(0, 0, canvas.cols, canvas.rows);
  if (box.empty()) return 0;
  cv::Mat mask = cv::Mat::zeros(box.size(), CV_8U);
  draw_shape(mask, centre - cv::Point2d(box.x, box.y), radius, rng);
  const Texture texture(radius, palette, rng);
  int painted = 0;
  for (int y = 0; y < box.height; ++y) {
    for (int x = 0; x < box.width; ++x) {
      uint8_t& done = covered.at<uint8_t>(box.y + y, box.x + x);
      if (!mask.at<uint8_t>(y, x) || done) continue;
      canvas.at<cv::Vec3f>(box.y + y, box.x + x) = texture.at(box.x + x - centre.x, box.y + y - centre.y);
      done = 1;
      ++painted;
    }
  }
  return painted;
}

}  // namespace

Image render_dead_leaves(int width, int height, std::mt19937_64& rng) {
  if (width <= 0 || height <= 0 || width > kMaxInputSide || height > kMaxInputSide) {
    throw InvalidArgument("dead-leaves image sides must be from 1 to " + std::to_string(kMaxInputSide) + ", got " +
                          std::to_string(width) + "x" + std::to_string(height));
  }
  // Leaves are drawn nearest first, each only where no nearer one lies, until the canvas is covered.
  cv::Mat canvas(height, width, CV_32FC3, cv::Scalar::all(0));
  cv::Mat covered = cv::Mat::zeros(height, width, CV_8U);
  const double side = std::min(width, height);
  const double min_radius = std::max(1.0, side / 64), max_radius = std::max(min_radius, side / 2);
  const Palette palette(rng);
  int left = width * height;
  for (int leaf = 0; leaf < kMaxLeaves && left > 0; ++leaf) {
    left -= paint_leaf(canvas, covered, palette, rng, min_radius, max_radius);
  }
  canvas.setTo(cv::Scalar(palette.colour(rng)), covered == 0);

  // A camera's softness and noise, in random amounts.
  cv::GaussianBlur(canvas, canvas, cv::Size(0, 0), uniform(rng, 0.3, 1.2));
  cv::Mat noise(height, width, CV_32FC3);
  cv::RNG noise_rng(rng());  // not OpenCV's global one: the same rng state must give the same image
  noise_rng.fill(noise, cv::RNG::NORMAL, 0, uniform(rng, 0, 6));
  canvas += noise;

  Image image(width, height, PixelFormat::Rgb8);
  canvas.convertTo(cv::Mat(height, width, CV_8UC3, image.data()), CV_8UC3);  // saturates to [0, 255]
  return image;
}

}  // namespace efficientad::detail
