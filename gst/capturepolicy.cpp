#include "capturepolicy.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "efficientad/image.h"

namespace efficientad::gst {

CapturePolicy::CapturePolicy (unsigned captured, unsigned next_index) : captured_ (captured), next_index_ (next_index)
{
}

bool
CapturePolicy::considers (const CaptureRules & rules, uint64_t time)
{
  const uint64_t number = frame_number_++;
  if (done (rules) || number % rules.interval != 0)
    return false;
  return rules.min_gap_ns == 0 || time == kNoTime || last_capture_time_ == kNoTime ||
      time >= last_capture_time_ + rules.min_gap_ns;
}

Image
CapturePolicy::thumbnail (const ImageView & region)
{
  return to_rgb (region, kThumbnailSide, kThumbnailSide);
}

bool
CapturePolicy::repeats_last (const CaptureRules & rules, const Image & thumb) const
{
  return rules.duplicate_threshold > 0 && !last_thumbnail_.empty () &&
      mean_absolute_difference (thumb, last_thumbnail_) < rules.duplicate_threshold;
}

std::string
CapturePolicy::record (Image thumb, uint64_t time)
{
  char name[32];
  std::snprintf (name, sizeof name, "frame-%06u.png", next_index_++);
  last_thumbnail_ = std::move (thumb);
  last_capture_time_ = time;
  captured_++;
  return name;
}

double
mean_absolute_difference (const Image & a, const Image & b)
{
  double sum = 0;
  for (size_t i = 0; i < a.size_bytes (); ++i)
    sum += std::abs ((int) a.data ()[i] - (int) b.data ()[i]);
  return sum / (double) a.size_bytes ();
}

}  // namespace efficientad::gst
