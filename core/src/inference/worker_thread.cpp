#include "inference/worker_thread.h"

namespace efficientad::detail {

WorkerThread::WorkerThread() : thread_([this] { loop(); }) {}

WorkerThread::~WorkerThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void WorkerThread::run(const std::function<void()>& task) {
  if (std::this_thread::get_id() == thread_.get_id()) {
    task();
    return;
  }
  std::lock_guard<std::mutex> one_caller(callers_);
  std::unique_lock<std::mutex> lock(mutex_);
  task_ = &task;
  finished_ = false;
  error_ = nullptr;
  wake_.notify_one();
  done_.wait(lock, [this] { return finished_; });
  if (error_) std::rethrow_exception(error_);
}

void WorkerThread::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stop_ || task_ != nullptr; });
    if (task_ == nullptr) return;  // stop requested and nothing pending
    const std::function<void()>* task = task_;
    lock.unlock();
    std::exception_ptr error;
    try {
      (*task)();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    task_ = nullptr;
    error_ = error;
    finished_ = true;
    done_.notify_one();
  }
}

}  // namespace efficientad::detail
