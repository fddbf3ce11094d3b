// The conveyor video of the README's main job: washers travel through a fixed camera's view on a moving belt.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <tuple>
#include <utility>

#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "efficientad/synthetic.h"
#include "part_render.h"

namespace fs = std::filesystem;

namespace efficientad {

using part_render::kPi;

void check_conveyor_options(const ConveyorOptions& o) {
  if (o.height < 64 || o.width < 64) throw InvalidArgument("conveyor frames need at least 64 pixels per side");
  if (o.width > 8192 || o.height > 8192) throw InvalidArgument("conveyor frames are at most 8192 pixels per side");
  if (o.parts < 1 || o.parts > 10000) throw InvalidArgument("the conveyor carries 1 to 10000 parts");
  if (o.good_parts < 0 || o.good_parts > o.parts) {
    throw InvalidArgument("the good start (" + std::to_string(o.good_parts) + " parts) cannot exceed the " +
                          std::to_string(o.parts) + " parts on the belt");
  }
  if (o.defect_every < 1) throw InvalidArgument("defect-every must be at least 1 (every part defective)");
  if (o.step < 1 || o.step > o.width) throw InvalidArgument("the belt moves 1 to width pixels per frame");
  // The belt is rendered whole (12 bytes per pixel): keep it well inside a small machine's memory.
  if (double(o.parts) * o.height * 5 / 4 * o.height > 25e6) {
    throw InvalidArgument("the belt would exceed 25 megapixels: fewer parts or a smaller height");
  }
}

namespace {

int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The frames [first, last] whose view [f * step, f * step + width) overlaps belt columns [begin, end).
std::pair<int, int> frames_showing(int begin, int end, const ConveyorOptions& o, int frames) {
  const int first = std::max(0, floor_div(begin - o.width, o.step) + 1);
  const int last = std::min(frames - 1, floor_div(end - 1, o.step));
  return {first, last};
}

// The moving belt, unlit: fine noise and a weave that travel with it.
cv::Mat render_belt_strip(int height, int length, uint64_t seed) {
  cv::Mat noise(height, length, CV_32FC1);
  cv::RNG(seed).fill(noise, cv::RNG::NORMAL, 0.0, 7.0);
  cv::GaussianBlur(noise, noise, cv::Size(3, 3), 0.8);
  cv::Mat belt(height, length, CV_32FC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < length; ++x) {
      const float v = float(4.0 * std::sin(2 * kPi * x / 6.0)) + noise.at<float>(y, x);
      belt.at<cv::Vec3f>(y, x) = cv::Vec3f(52 + v, 64 + v, 50 + v);
    }
  }
  return belt;
}

// The camera's lighting, fixed in the frame: a gradient across the belt and a soft vignette.
cv::Mat render_light(int width, int height) {
  cv::Mat light(height, width, CV_32FC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double u = (x - width / 2.0) / width, v = (y - height / 2.0) / height;
      const float l = float(0.95 + 0.12 * (0.6 * u + 0.8 * v) - 0.25 * (u * u + v * v));
      light.at<cv::Vec3f>(y, x) = cv::Vec3f(l, l, l);
    }
  }
  return light;
}

std::string defect_of(int index, const ConveyorOptions& o) {
  if (index < o.good_parts || (index - o.good_parts) % o.defect_every != o.defect_every - 1) return "";
  const auto kinds = synthetic_defect_kinds();
  return kinds[size_t((index - o.good_parts) / o.defect_every) % kinds.size()];
}

std::string parts_csv(const ConveyorVideo& video) {
  std::ostringstream csv;
  csv << "part,defect,first_frame,last_frame,defect_first_frame,defect_last_frame\n";
  for (const auto& p : video.parts) {
    csv << p.index << ',' << (p.defect.empty() ? "good" : p.defect) << ',' << p.first_frame << ',' << p.last_frame
        << ',' << p.defect_first_frame << ',' << p.defect_last_frame << '\n';
  }
  return csv.str();
}

}  // namespace

ConveyorVideo write_conveyor_video(const std::string& folder, const ConveyorOptions& o) {
  check_conveyor_options(o);
  const int spacing = o.height * 5 / 4, tile = o.height;
  auto part_start = [&](int k) { return o.width + k * spacing; };  // the belt starts empty in view
  ConveyorVideo video;
  const int belt_end = part_start(o.parts - 1) + tile;
  video.frames = (belt_end + o.step - 1) / o.step;  // until the last part has left the view
  const int length = (video.frames - 1) * o.step + o.width;

  cv::Mat strip = render_belt_strip(o.height, length, o.seed);
  for (int k = 0; k < o.parts; ++k) {
    ConveyorPart part;
    part.index = k;
    part.defect = defect_of(k, o);
    part_render::Scene scene = part_render::make_scene(tile, o.seed * 1000003 + uint64_t(k));
    const part_render::PartLayer layer = part_render::render_part(scene, part.defect);
    const cv::Rect where(part_start(k), 0, tile, tile);
    part_render::place_part(strip(where), layer).copyTo(strip(where));
    std::tie(part.first_frame, part.last_frame) = frames_showing(where.x, where.x + tile, o, video.frames);
    const cv::Rect defect = cv::boundingRect(layer.coverage);
    if (!part.defect.empty() && defect.area() > 0) {
      std::tie(part.defect_first_frame, part.defect_last_frame) =
          frames_showing(where.x + defect.x, where.x + defect.x + defect.width, o, video.frames);
    }
    video.parts.push_back(part);
  }

  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw IoError("cannot create folder " + folder + ": " + ec.message());
  const cv::Mat light = render_light(o.width, o.height);
  Image frame(o.width, o.height, PixelFormat::Rgb8);
  for (int f = 0; f < video.frames; ++f) {
    const cv::Mat lit = strip(cv::Rect(f * o.step, 0, o.width, o.height)).mul(light);
    lit.convertTo(cv::Mat(o.height, o.width, CV_8UC3, frame.data()), CV_8UC3);
    char name[32];
    std::snprintf(name, sizeof name, "frame-%05d.png", f);
    save_png((fs::path(folder) / name).string(), frame.view());
  }
  save_text((fs::path(folder) / "parts.csv").string(), parts_csv(video));
  return video;
}

}  // namespace efficientad
