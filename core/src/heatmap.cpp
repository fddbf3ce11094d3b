#include "efficientad/heatmap.h"

#include <algorithm>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "efficientad/errors.h"
#include "image_ops.h"

namespace efficientad {

Image render_heatmap(const ImageView& image, const AnomalyMap& map, float score, float threshold,
                     const HeatmapStyle& style) {
  if (map.values.empty()) throw InvalidArgument("render_heatmap: empty anomaly map");
  Image out = detail::to_network_input(image, image.width, image.height);  // packed RGB copy
  cv::Mat rgb(out.height(), out.width(), CV_8UC3, out.data());

  cv::Mat values(map.height, map.width, CV_32FC1, const_cast<float*>(map.values.data()));
  if (map.width != out.width() || map.height != out.height()) {
    cv::Mat resized;
    cv::resize(values, resized, rgb.size(), 0, 0, cv::INTER_LINEAR);
    values = resized;
  }
  const float top = style.max_value > 0 ? style.max_value : std::max(2.0f * threshold, 1e-6f);
  cv::Mat levels;
  values.convertTo(levels, CV_8UC1, 255.0 / top);  // saturates below 0 and above `top`
  cv::Mat colours;
  cv::applyColorMap(levels, colours, cv::COLORMAP_JET);
  cv::cvtColor(colours, colours, cv::COLOR_BGR2RGB);
  // Opacity grows with the map value: normal areas keep the picture, hot areas glow.
  cv::Mat opacity, opacity3, blended;
  levels.convertTo(opacity, CV_32FC1, style.alpha / 255.0);
  cv::merge(std::vector<cv::Mat>(3, opacity), opacity3);
  cv::Mat image_f, colours_f;
  rgb.convertTo(image_f, CV_32FC3);
  colours.convertTo(colours_f, CV_32FC3);
  blended = image_f + opacity3.mul(colours_f - image_f);
  blended.convertTo(rgb, CV_8UC3);

  if (style.outline) {
    cv::Mat above = values > threshold;
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(above, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    cv::drawContours(rgb, contours, -1, cv::Scalar(255, 255, 255), std::max(1, out.width() / 300), cv::LINE_AA);
  }
  if (style.label) {
    char text[64];
    std::snprintf(text, sizeof text, "%s %.3f", score > threshold ? "ANOMALY" : "ok", score);
    const double font = std::max(0.4, out.width() / 640.0);
    const cv::Scalar colour = score > threshold ? cv::Scalar(255, 60, 60) : cv::Scalar(60, 255, 60);
    cv::putText(rgb, text, cv::Point(6, int(22 * font + 4)), cv::FONT_HERSHEY_SIMPLEX, font, cv::Scalar(0, 0, 0), 3,
                cv::LINE_AA);
    cv::putText(rgb, text, cv::Point(6, int(22 * font + 4)), cv::FONT_HERSHEY_SIMPLEX, font, colour, 1, cv::LINE_AA);
  }
  return out;
}

}  // namespace efficientad
