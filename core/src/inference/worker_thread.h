// A thread that runs every LibTorch call of one Detector. OpenMP keeps a thread pool per calling thread: a model
// loaded on one thread (an application's) and used on another (a GStreamer streaming thread) leaves two pools
// competing for the cores, which measurably slows inference (about 10 % on two cores). Running both on one
// thread keeps one pool. It also makes the Detector safe to call from several threads: calls are serialised.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace efficientad::detail {

class WorkerThread {
 public:
  WorkerThread();
  ~WorkerThread();
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // Runs `task` on the worker thread and waits for it; exceptions are rethrown in the caller. Calls from the
  // worker thread itself run directly.
  void run(const std::function<void()>& task);

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void()>* task_ = nullptr;
  std::exception_ptr error_;
  bool finished_ = false;
  bool stop_ = false;
  std::mutex callers_;  // one call at a time
  std::thread thread_;
};

}  // namespace efficientad::detail
