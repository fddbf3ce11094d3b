/* Which frames efficientadtrain captures, free of GStreamer so that its rules have their own unit tests: every
 * Nth frame, at least a minimum gap of running time apart, not a near-duplicate of the last captured one, until
 * the folder holds max-frames. */
#pragma once

#include <cstdint>
#include <string>

#include "efficientad/image.h"

namespace efficientad::gst {

struct CaptureRules {
  unsigned interval = 1;            /* consider every Nth frame */
  uint64_t min_gap_ns = 0;          /* least running time between two captures */
  double duplicate_threshold = 1.0; /* mean absolute thumbnail difference (grey levels) below which a frame repeats */
  unsigned max_frames = 200;
};

class CapturePolicy {
 public:
  static constexpr uint64_t kNoTime = UINT64_MAX;
  static constexpr int kThumbnailSide = 32;

  /* `captured` frames are in the folder already (a resumed capture); the next file gets number `next_index`. */
  CapturePolicy (unsigned captured, unsigned next_index);

  /* The cheap checks, before the frame is mapped: counts the frame, then says whether it is a candidate.
   * `time` is its running time in ns (kNoTime: unknown, which never blocks a capture). */
  bool considers (const CaptureRules & rules, uint64_t time);
  /* The 32x32 RGB thumbnail that near-duplicates are judged by. */
  static Image thumbnail (const ImageView & region);
  /* Whether `thumb` is a near-duplicate of the last captured frame's. */
  bool repeats_last (const CaptureRules & rules, const Image & thumb) const;
  /* Records a capture at `time`; returns its file name ("frame-000042.png"). */
  std::string record (Image thumb, uint64_t time);
  /* No more captures in this session (a write failed). */
  void finish () { finished_ = true; }

  unsigned captured () const { return captured_; }
  bool done (const CaptureRules & rules) const { return finished_ || captured_ >= rules.max_frames; }

 private:
  unsigned captured_, next_index_;
  uint64_t frame_number_ = 0;
  uint64_t last_capture_time_ = kNoTime;
  Image last_thumbnail_;
  bool finished_ = false;
};

/* Mean absolute difference of two images of the same size, in grey levels. */
double mean_absolute_difference (const Image & a, const Image & b);

}  // namespace efficientad::gst
