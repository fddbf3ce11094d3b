// The procedural washer renderer shared by the demonstration dataset (synthetic.cpp) and the conveyor video
// (conveyor.cpp): one part with its defect, placed over a square of belt.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <random>
#include <string>

namespace efficientad::part_render {

constexpr double kPi = 3.14159265358979323846;

// One part's geometry and random generator; `size` is the side of its square, in pixels.
struct Scene {
  std::mt19937_64 rng;
  int size;
  cv::Point2d centre;
  double outer, inner, hole_ring, hole_radius, hole_angle;
  double brightness;

  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }
  // Gaussian noise from this scene's generator (cv::randn would use OpenCV's global one: not reproducible).
  cv::Mat noise(double sigma) {
    cv::Mat out(size, size, CV_32FC1);
    cv::RNG(rng()).fill(out, cv::RNG::NORMAL, 0.0, sigma);
    return out;
  }
};

// A part with its defect, before it is placed: all size x size.
struct PartLayer {
  cv::Mat metal;     // CV_32FC3, the part's surface
  cv::Mat part;      // CV_8UC1, 255 where the part is
  cv::Mat coverage;  // CV_8UC1, 255 where the defect is
};

Scene make_scene(int size, uint64_t seed);
// Throws InvalidArgument for a kind synthetic_defect_kinds() does not list ("" is a good part).
void check_defect_kind(const std::string& defect);
PartLayer render_part(Scene& scene, const std::string& defect);
// The part over `belt` (CV_32FC3, size x size) with a soft shadow.
cv::Mat place_part(const cv::Mat& belt, const PartLayer& layer);

}  // namespace efficientad::part_render
