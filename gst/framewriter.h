/* Writes captured frames to a folder on its own thread, so that PNG encoding and the disk never hold up the
 * stream. Files are written atomically: a stop or crash leaves whole files only. The queue is bounded in bytes:
 * when the disk falls behind, has_room() says no and the caller skips captures instead of growing memory. */
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "efficientad/image.h"

namespace efficientad::gst {

class FrameWriter {
 public:
  /* `on_first_error` is called once, on the writer thread, when a frame cannot be written (a full disk): the
   * element warns at once, even when no further frame is captured. */
  FrameWriter (std::string folder, size_t max_queued_bytes, std::function<void (const std::string &)> on_first_error);
  ~FrameWriter ();  /* writes what is queued first: nothing captured is lost */

  bool has_room ();
  void write (std::string name, efficientad::Image image);
  /* Waits until every queued frame is on disk. Returns the first write error, "" when none. */
  std::string flush ();
  /* Frames that could not be written. */
  size_t failed ();

 private:
  void loop ();

  std::string folder_;
  size_t max_queued_bytes_;
  std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<std::pair<std::string, efficientad::Image>> queue_;
  size_t queued_bytes_ = 0;
  bool stopping_ = false, busy_ = false;
  std::string error_;
  size_t failed_ = 0;
  std::function<void (const std::string &)> on_first_error_;
  std::thread thread_;  /* last: starts after the members it uses */
};

}  // namespace efficientad::gst
