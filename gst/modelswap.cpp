#include "modelswap.h"

#include <exception>
#include <utility>

namespace efficientad::gst {

ModelSwap::ModelSwap (Loader load, Refusal refused)
    : load_ (std::move (load)), refused_ (std::move (refused)), thread_ ([this] { loop (); })
{
}

ModelSwap::~ModelSwap ()
{
  stop ();
}

void
ModelSwap::request (const std::string & path)
{
  bool replaced;
  std::string superseded;
  {
    std::lock_guard<std::mutex> lock (mutex_);
    if (stopping_)
      return;
    replaced = has_queued_;
    superseded = std::exchange (queued_, path);
    has_queued_ = true;
  }
  wake_.notify_one ();
  if (replaced)
    refused_ (superseded, kSuperseded, false);
}

bool
ModelSwap::has_loaded () const
{
  std::lock_guard<std::mutex> lock (mutex_);
  return loaded_ != nullptr;
}

std::unique_ptr<Detector>
ModelSwap::take_loaded (std::string * path)
{
  std::lock_guard<std::mutex> lock (mutex_);
  *path = std::move (loaded_path_);
  loaded_path_.clear ();
  return std::move (loaded_);
}

void
ModelSwap::stop ()
{
  {
    std::lock_guard<std::mutex> lock (mutex_);
    stopping_ = true;
    has_queued_ = false;
  }
  wake_.notify_one ();
  if (thread_.joinable ())
    thread_.join ();
  std::lock_guard<std::mutex> lock (mutex_);
  loaded_.reset ();
}

void
ModelSwap::loop ()
{
  std::unique_lock<std::mutex> lock (mutex_);
  while (true) {
    wake_.wait (lock, [this] { return stopping_ || has_queued_; });
    if (stopping_)
      return;
    const std::string path = std::move (queued_);
    has_queued_ = false;
    lock.unlock ();
    std::unique_ptr<Detector> detector;
    std::string error;
    try {
      detector = load_ (path);
    } catch (const std::exception & e) {
      error = e.what ();
    }
    finish_load (path, std::move (detector), error);
    lock.lock ();
  }
}

/* A load that a newer request overtook while it ran is superseded; so is a loaded model nobody took yet. */
void
ModelSwap::finish_load (const std::string & path, std::unique_ptr<Detector> detector, const std::string & error)
{
  if (!error.empty ()) {
    refused_ (path, error, true);
    return;
  }
  std::string dropped_path;
  std::unique_ptr<Detector> dropped;
  bool overtaken, stopping;
  {
    std::lock_guard<std::mutex> lock (mutex_);
    stopping = stopping_;
    overtaken = has_queued_;
    if (!overtaken && !stopping) {
      dropped = std::move (loaded_);
      dropped_path = std::move (loaded_path_);
      loaded_ = std::move (detector);
      loaded_path_ = path;
    }
  }
  if (dropped)
    refused_ (dropped_path, kSuperseded, false);
  if (overtaken && !stopping)
    refused_ (path, kSuperseded, false);
}

}  // namespace efficientad::gst
