// The mean of the last N losses: what progress bars and provenance report as "the loss" (one step is noisy).
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

namespace efficientad::detail {

class LossWindow {
 public:
  explicit LossWindow(size_t size) : size_(size) {}

  void add(float loss) {
    values_.push_back(loss);
    if (values_.size() > size_) values_.pop_front();
  }
  float mean() const {
    double sum = 0;
    for (float v : values_) sum += v;
    return values_.empty() ? 0.0f : float(sum / double(values_.size()));
  }
  std::vector<float> values() const { return {values_.begin(), values_.end()}; }  // oldest first
  void assign(const std::vector<float>& values) {
    values_.clear();
    for (float v : values) add(v);
  }

 private:
  size_t size_;
  std::deque<float> values_;
};

}  // namespace efficientad::detail
