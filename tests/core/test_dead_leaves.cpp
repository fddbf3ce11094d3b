// Procedural dead-leaves images (the pretraining penalty's images where the user has none): reproducible, varied,
// and with natural images' fall of power over spatial frequency, which a flat or noisy image does not have.
#include "check_compat.h"

#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "efficientad/errors.h"
#include "efficientad/model.h"
#include "test_helpers.h"
#include "training/dead_leaves.h"

using namespace efficientad;
using efficientad::detail::render_dead_leaves;

namespace {

cv::Mat grey_of(const Image& image) {
  cv::Mat rgb(image.height(), image.width(), CV_8UC3, const_cast<uint8_t*>(image.data())), grey;
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
  grey.convertTo(grey, CV_32F);
  return grey;
}

// Slope of log power against log frequency, radially averaged, from 4 to 48 cycles per image (a square image).
// Natural photographs give about -2 (power ~ 1/f^2); white noise 0.
double spectrum_slope(const cv::Mat& grey) {
  cv::Mat centred = grey - cv::mean(grey)[0], spectrum;
  cv::dft(centred, spectrum, cv::DFT_COMPLEX_OUTPUT);
  const int n = grey.rows;
  std::vector<double> power(size_t(n / 2), 0.0), count(size_t(n / 2), 0.0);
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      const int fy = y <= n / 2 ? y : y - n, fx = x <= n / 2 ? x : x - n;
      const int f = int(std::lround(std::hypot(fx, fy)));
      if (f <= 0 || f >= n / 2) continue;
      const cv::Vec2f c = spectrum.at<cv::Vec2f>(y, x);
      power[size_t(f)] += double(c[0]) * c[0] + double(c[1]) * c[1];
      count[size_t(f)] += 1;
    }
  }
  double sx = 0, sy = 0, sxx = 0, sxy = 0, m = 0;
  for (int f = 4; f <= 48; ++f) {
    const double lx = std::log(double(f)), ly = std::log(power[size_t(f)] / count[size_t(f)]);
    sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly, m += 1;
  }
  return (m * sxy - sx * sy) / (m * sxx - sx * sx);
}

bool same_pixels(const Image& a, const Image& b) {
  return a.size_bytes() == b.size_bytes() && std::equal(a.data(), a.data() + a.size_bytes(), b.data());
}

}  // namespace

START_TEST(same_seed_same_image_other_seed_another) {
  std::mt19937_64 a(7), b(7), c(8);
  const Image first = render_dead_leaves(128, 96, a);
  ck_assert_int_eq(first.width(), 128);
  ck_assert_int_eq(first.height(), 96);
  ck_assert(first.format() == PixelFormat::Rgb8);
  ck_assert(same_pixels(first, render_dead_leaves(128, 96, b)));
  ck_assert(!same_pixels(first, render_dead_leaves(128, 96, c)));
  ck_assert(!same_pixels(first, render_dead_leaves(128, 96, a)));  // the next draw of the same generator
}
END_TEST

// Power falls with frequency as in photographs (slope near -2); the measurement itself reads white noise as flat.
START_TEST(power_falls_with_frequency_as_in_photographs) {
  std::mt19937_64 rng(1);
  double mean_slope = 0;
  for (int i = 0; i < 8; ++i) mean_slope += spectrum_slope(grey_of(render_dead_leaves(256, 256, rng))) / 8;
  ck_assert_msg(mean_slope > -3.0 && mean_slope < -1.4, "dead leaves: power ~ f^%.2f", mean_slope);

  cv::Mat noise(256, 256, CV_32F);
  cv::RNG(3).fill(noise, cv::RNG::NORMAL, 128, 30);
  const double noise_slope = spectrum_slope(noise);
  ck_assert_msg(std::abs(noise_slope) < 0.3, "white noise: power ~ f^%.2f", noise_slope);
}
END_TEST

// Many leaves of many colours: the images are neither flat nor alike.
START_TEST(images_vary_within_and_between) {
  std::mt19937_64 rng(2);
  std::vector<double> means;
  for (int i = 0; i < 12; ++i) {
    const cv::Mat grey = grey_of(render_dead_leaves(200, 150, rng));
    cv::Scalar mean, stddev;
    cv::meanStdDev(grey, mean, stddev);
    ck_assert_msg(stddev[0] > 8, "image %d is nearly flat (stddev %.1f)", i, stddev[0]);
    means.push_back(mean[0]);
  }
  const auto [low, high] = std::minmax_element(means.begin(), means.end());
  ck_assert_msg(*high - *low > 20, "mean brightness only spans %.1f", *high - *low);
}
END_TEST

START_TEST(bad_sizes_n) {
  std::mt19937_64 rng(1);
  test::expect_throw<InvalidArgument>([&] { render_dead_leaves(0, 256, rng); }, "got 0x256");
  test::expect_throw<InvalidArgument>([&] { render_dead_leaves(256, -3, rng); }, "got 256x-3");
}
END_TEST

// A size no network input has is refused before anything is allocated (100000 x 100000 would be 120 GB).
START_TEST(oversized_canvas_n) {
  std::mt19937_64 rng(1);
  test::expect_throw<InvalidArgument>([&] { render_dead_leaves(100000, 100000, rng); }, "sides must be from 1 to");
  test::expect_throw<InvalidArgument>([&] { render_dead_leaves(kMaxInputSide + 1, 8, rng); }, "sides must be from 1 to");
}
END_TEST

// Canvases smaller than the smallest leaf are still filled, never left out or overrun.
START_TEST(tiny_and_thin_canvases_n) {
  std::mt19937_64 rng(1);
  for (const auto& [w, h] : {std::pair{1, 1}, {2, 3}, {300, 1}, {1, 64}}) {
    const Image image = render_dead_leaves(w, h, rng);
    ck_assert_int_eq(image.width(), w);
    ck_assert_int_eq(image.height(), h);
    ck_assert_int_eq(int(image.size_bytes()), w * h * 3);
  }
}
END_TEST

int main() {
  return test::run_cases("dead_leaves", {
      {"positive", TESTS(same_seed_same_image_other_seed_another, power_falls_with_frequency_as_in_photographs,
                         images_vary_within_and_between)},
      {"negative", TESTS(bad_sizes_n, oversized_canvas_n, tiny_and_thin_canvases_n)},
  }, test::Fork::PerTest);
}
