/* The alarm of efficientad: edge-triggered with hysteresis counted in analysed frames, free of GStreamer so that
 * its rules have their own unit tests. */
#pragma once

namespace efficientad::gst {

class AlarmState {
 public:
  enum class Edge { None, Begin, End };

  /* One analysed frame: Begin after on_frames anomalous frames in a row, End after off_frames normal ones. */
  Edge update (bool anomalous, unsigned on_frames, unsigned off_frames)
  {
    if (anomalous) {
      normal_run_ = 0;
      if (++anomalous_run_ >= on_frames && !active_) {
        active_ = true;
        return Edge::Begin;
      }
    } else {
      anomalous_run_ = 0;
      if (++normal_run_ >= off_frames && active_) {
        active_ = false;
        return Edge::End;
      }
    }
    return Edge::None;
  }

  /* The stream ended: an active alarm ends with it. */
  Edge end_of_stream ()
  {
    const bool was_active = active_;
    *this = AlarmState ();
    return was_active ? Edge::End : Edge::None;
  }

  bool active () const { return active_; }

 private:
  unsigned anomalous_run_ = 0, normal_run_ = 0;
  bool active_ = false;
};

}  // namespace efficientad::gst
