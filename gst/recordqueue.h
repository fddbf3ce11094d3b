/* A bounded queue of published records drained by one thread: pushing never blocks the stream; when the queue
 * is full (a broker away, a disk stalled) the oldest record is dropped and counted. */
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace efficientad::gst {

class RecordQueue {
 public:
  explicit RecordQueue (size_t capacity) : capacity_ (capacity) {}

  void push (std::string record)
  {
    {
      std::lock_guard<std::mutex> lock (mutex_);
      if (queue_.size () >= capacity_) {
        queue_.pop_front ();
        dropped_++;
      }
      queue_.push_back (std::move (record));
    }
    wake_.notify_all ();
  }

  /* Waits up to `timeout` for a record; false when none came or the queue was closed. */
  bool pop (std::string * record, std::chrono::milliseconds timeout)
  {
    std::unique_lock<std::mutex> lock (mutex_);
    wake_.wait_for (lock, timeout, [this] { return closed_ || !queue_.empty (); });
    if (queue_.empty ())
      return false;
    *record = std::move (queue_.front ());
    queue_.pop_front ();
    in_hand_++;
    return true;
  }

  /* The record taken by pop() is done with (sent, written or given up). */
  void done ()
  {
    std::lock_guard<std::mutex> lock (mutex_);
    in_hand_--;
    idle_.notify_all ();
  }

  /* Puts a record taken by pop() back at the front (it could not be sent yet). */
  void put_back (std::string record)
  {
    {
      std::lock_guard<std::mutex> lock (mutex_);
      in_hand_--;
      if (queue_.size () >= capacity_) {
        dropped_++;  /* newer records arrived meanwhile: this, the oldest, goes */
      } else {
        queue_.push_front (std::move (record));
      }
    }
    idle_.notify_all ();
  }

  /* Waits up to `timeout` until every record was handled; false if some are left. */
  bool drain (std::chrono::milliseconds timeout)
  {
    std::unique_lock<std::mutex> lock (mutex_);
    return idle_.wait_for (lock, timeout, [this] { return queue_.empty () && in_hand_ == 0; });
  }

  void close ()
  {
    {
      std::lock_guard<std::mutex> lock (mutex_);
      closed_ = true;
    }
    wake_.notify_all ();
  }

  uint64_t dropped () const
  {
    std::lock_guard<std::mutex> lock (mutex_);
    return dropped_;
  }

  size_t size () const
  {
    std::lock_guard<std::mutex> lock (mutex_);
    return queue_.size ();
  }

 private:
  size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<std::string> queue_;
  size_t in_hand_ = 0;
  uint64_t dropped_ = 0;
  bool closed_ = false;
};

}  // namespace efficientad::gst
