#include "efficientad/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <opencv2/imgproc.hpp>

#include "efficientad/errors.h"

namespace efficientad {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Image indices in order of descending score.
std::vector<size_t> descending_order(const std::vector<float>& scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return order;
}

void check_sizes(const std::vector<float>& scores, const std::vector<bool>& anomalous) {
  if (scores.size() != anomalous.size()) throw InvalidArgument("metrics: one label per score needed");
}

// Area under a curve given point by point from (0, 0), up to x = limit (linear interpolation at the limit).
class Integral {
 public:
  explicit Integral(double limit) : limit_(limit) {}
  void add(double x, double y) {
    if (x_ < limit_ && x > x_) {
      const double end = std::min(x, limit_);
      const double y_end = y_ + (y - y_) * (end - x_) / (x - x_);
      area_ += (end - x_) * (y_ + y_end) / 2;
    }
    x_ = x;
    y_ = y;
  }
  double normalised() const { return area_ / limit_; }

 private:
  double limit_, area_ = 0, x_ = 0, y_ = 0;
};

double robustness(const std::array<double, 4>& q) {
  const double w = (q[0] + q[1] + q[2] + q[3]) / 4;
  const double largest = std::max(q[0], q[3]);
  const double s = largest > 0 ? std::abs(q[3] - q[0]) / largest : 0.0;
  return w * (1 - s);
}

}  // namespace

double auroc(const std::vector<float>& scores, const std::vector<bool>& anomalous) {
  check_sizes(scores, anomalous);
  const auto positives = double(std::count(anomalous.begin(), anomalous.end(), true));
  const double negatives = double(scores.size()) - positives;
  if (positives == 0 || negatives == 0) return kNaN;
  const std::vector<size_t> order = descending_order(scores);
  Integral roc(1.0);
  double tp = 0, fp = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    (anomalous[order[i]] ? tp : fp) += 1;
    if (i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]]) roc.add(fp / negatives, tp / positives);
  }
  return roc.normalised();
}

double f1_max(const std::vector<float>& scores, const std::vector<bool>& anomalous) {
  check_sizes(scores, anomalous);
  const auto positives = double(std::count(anomalous.begin(), anomalous.end(), true));
  if (positives == 0) return kNaN;
  const std::vector<size_t> order = descending_order(scores);
  double tp = 0, fp = 0, best = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    (anomalous[order[i]] ? tp : fp) += 1;
    if (i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]]) {
      best = std::max(best, 2 * tp / (tp + fp + positives));  // 2PR / (P + R)
    }
  }
  return best;
}

void PixelEvaluator::add(const AnomalyMap& map, const std::vector<uint8_t>& mask, int group) {
  const size_t n = size_t(map.width) * size_t(map.height);
  if (n == 0 || map.values.size() != n) throw InvalidArgument("metrics: the anomaly map is empty or does not hold width x height values");
  if (mask.size() != n) throw InvalidArgument("metrics: the mask must have the size of the anomaly map");
  if (group < 0) throw InvalidArgument("metrics: groups are numbered from 0");

  cv::Mat defect(map.height, map.width, CV_8U);
  for (size_t i = 0; i < n; ++i) defect.data[i] = mask[i] >= 128 ? 1 : 0;
  cv::Mat labels;
  const int count = cv::connectedComponents(defect, labels, 8, CV_32S);  // label 0 is the background
  const size_t first_region = regions_.size();
  for (int r = 1; r < count; ++r) regions_.push_back({group, 0});

  pixels_.reserve(pixels_.size() + n);
  if (normal_pixels_.size() <= size_t(group)) normal_pixels_.resize(size_t(group) + 1, 0);
  const auto* label = labels.ptr<int32_t>();
  for (size_t i = 0; i < n; ++i) {
    if (label[i] == 0) {
      normal_pixels_[size_t(group)]++;
      pixels_.push_back({map.values[i], -group - 1});
    } else {
      const size_t region = first_region + size_t(label[i] - 1);
      regions_[region].size++;
      pixels_.push_back({map.values[i], int32_t(region)});
    }
  }
  if (regions_.size() > size_t(std::numeric_limits<int32_t>::max())) throw InvalidArgument("metrics: too many regions");
  sorted_ = false;
}

std::array<double, 4> PixelEvaluator::size_quartiles() const {
  std::vector<double> sizes;
  for (const Region& r : regions_) sizes.push_back(double(r.size));
  std::sort(sizes.begin(), sizes.end());
  std::array<double, 4> q{};
  for (int k = 0; k < 4 && !sizes.empty(); ++k) {  // linear interpolation between order statistics (numpy's default)
    const double position = (k + 1) / 4.0 * double(sizes.size() - 1);
    const size_t below = size_t(position);
    const size_t above = std::min(below + 1, sizes.size() - 1);
    q[size_t(k)] = sizes[below] + (sizes[above] - sizes[below]) * (position - double(below));
  }
  return q;
}

SegmentationMetrics PixelEvaluator::compute(const std::vector<int>& groups) {
  if (!sorted_) {  // once for every subset: a subset of a sorted sequence stays sorted
    std::sort(pixels_.begin(), pixels_.end(), [](const Pixel& a, const Pixel& b) { return a.score > b.score; });
    sorted_ = true;
  }
  const int max_group = groups.empty() ? -1 : *std::max_element(groups.begin(), groups.end());
  std::vector<char> included(size_t(std::max(max_group, 0) + 1), 0);
  for (int g : groups) {
    if (g >= 0) included[size_t(g)] = 1;
  }
  auto group_included = [&](int g) { return g <= max_group && included[size_t(g)]; };

  // The per-region overlap of a threshold is the mean over regions of the share of each region's pixels above it:
  // each defect pixel adds 1 / (its region's size * number of regions), to the overall and to each quartile set
  // that holds its region.
  const std::array<double, 4> quartiles = size_quartiles();
  SegmentationMetrics m;
  std::array<double, 4> regions_in_quartile{};
  for (const Region& r : regions_) {
    if (!group_included(r.group)) continue;
    m.regions++;
    m.defect_pixels += r.size;
    for (size_t k = 0; k < 4; ++k) regions_in_quartile[k] += double(r.size) <= quartiles[k] || k == 3 ? 1 : 0;
  }
  for (size_t g = 0; g < normal_pixels_.size(); ++g) m.normal_pixels += group_included(int(g)) ? normal_pixels_[g] : 0;

  SegmentationMetrics undefined = m;
  undefined.pixel_auroc = undefined.aupro30 = undefined.aupro5 = undefined.robustness30 = undefined.robustness5 = kNaN;
  undefined.aupro30_quartile.fill(kNaN);
  undefined.aupro5_quartile.fill(kNaN);
  if (m.normal_pixels == 0 || m.defect_pixels == 0) return undefined;

  Integral roc(1.0);
  std::array<Integral, 4> pro30{Integral(0.3), Integral(0.3), Integral(0.3), Integral(0.3)};
  std::array<Integral, 4> pro5{Integral(0.05), Integral(0.05), Integral(0.05), Integral(0.05)};
  std::array<double, 4> overlap{};
  double false_positives = 0, true_positives = 0;
  for (size_t i = 0; i < pixels_.size(); ++i) {
    const Pixel& p = pixels_[i];
    if (p.label < 0) {
      if (group_included(-p.label - 1)) false_positives += 1;
    } else {
      const Region& r = regions_[size_t(p.label)];
      if (group_included(r.group)) {
        true_positives += 1;
        for (size_t k = 0; k < 4; ++k) {
          if (k == 3 || double(r.size) <= quartiles[k]) overlap[k] += 1.0 / double(r.size);
        }
      }
    }
    if (i + 1 < pixels_.size() && pixels_[i + 1].score == p.score) continue;  // a curve point per distinct score
    const double fpr = false_positives / double(m.normal_pixels);
    roc.add(fpr, true_positives / double(m.defect_pixels));
    for (size_t k = 0; k < 4; ++k) {
      const double pro = regions_in_quartile[k] > 0 ? overlap[k] / regions_in_quartile[k] : 0.0;
      pro30[k].add(fpr, pro);
      pro5[k].add(fpr, pro);
    }
  }
  m.pixel_auroc = roc.normalised();
  for (size_t k = 0; k < 4; ++k) {
    m.aupro30_quartile[k] = regions_in_quartile[k] > 0 ? pro30[k].normalised() : kNaN;
    m.aupro5_quartile[k] = regions_in_quartile[k] > 0 ? pro5[k].normalised() : kNaN;
  }
  m.aupro30 = m.aupro30_quartile[3];
  m.aupro5 = m.aupro5_quartile[3];
  m.robustness30 = robustness(m.aupro30_quartile);
  m.robustness5 = robustness(m.aupro5_quartile);
  return m;
}

}  // namespace efficientad
