#include "framewriter.h"

#include <exception>

#include "efficientad/image_io.h"

namespace efficientad::gst {

FrameWriter::FrameWriter (std::string folder, size_t max_queued_bytes,
    std::function<void (const std::string &)> on_first_error)
    : folder_ (std::move (folder)), max_queued_bytes_ (max_queued_bytes),
      on_first_error_ (std::move (on_first_error)), thread_ ([this] { loop (); })
{
}

FrameWriter::~FrameWriter ()
{
  {
    std::lock_guard<std::mutex> lock (mutex_);
    stopping_ = true;
  }
  wake_.notify_all ();
  thread_.join ();
}

bool
FrameWriter::has_room ()
{
  std::lock_guard<std::mutex> lock (mutex_);
  return queued_bytes_ < max_queued_bytes_;
}

void
FrameWriter::write (std::string name, efficientad::Image image)
{
  {
    std::lock_guard<std::mutex> lock (mutex_);
    queued_bytes_ += image.size_bytes ();
    queue_.emplace_back (std::move (name), std::move (image));
  }
  wake_.notify_all ();
}

std::string
FrameWriter::flush ()
{
  std::unique_lock<std::mutex> lock (mutex_);
  idle_.wait (lock, [this] { return queue_.empty () && !busy_; });
  return error_;
}

size_t
FrameWriter::failed ()
{
  std::lock_guard<std::mutex> lock (mutex_);
  return failed_;
}

void
FrameWriter::loop ()
{
  std::unique_lock<std::mutex> lock (mutex_);
  for (;;) {
    wake_.wait (lock, [this] { return stopping_ || !queue_.empty (); });
    if (queue_.empty ())
      return;
    auto item = std::move (queue_.front ());
    queue_.pop_front ();
    busy_ = true;
    lock.unlock ();
    std::string failure;
    try {
      efficientad::save_png (folder_ + "/" + item.first, item.second.view ());
    } catch (const std::exception & e) {
      failure = e.what ();
    }
    if (!failure.empty () && failed_ == 0 && on_first_error_)
      on_first_error_ (failure);  /* before the count changes: flush() returns only after the warning */
    lock.lock ();
    queued_bytes_ -= item.second.size_bytes ();
    busy_ = false;
    if (!failure.empty ()) {
      failed_++;
      if (error_.empty ())
        error_ = failure;
    }
    idle_.notify_all ();
  }
}

}  // namespace efficientad::gst
