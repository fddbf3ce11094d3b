#include "common/tensor_memory.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace efficientad::detail {

namespace {

struct Block {
  void* data;
  size_t size;      // a multiple of kBlockGranule
  uint64_t freed;   // the allocator's count of large requests when it was freed
};

// An idle block that this many large requests have passed over is stale: its size belongs to a phase that ended
// (teacher outputs before training steps, another input size). A training step makes ~230 large requests, a
// frame of fast inference ~10.
constexpr uint64_t kStaleAfterRequests = 2000;

// Freed blocks wait in `idle_`, oldest first. A request takes the newest idle block of its rounded size; one that
// finds none frees the stale blocks; more than the idle limit frees the oldest. (Freeing idle blocks on every
// miss instead, to keep the footprint at its old peak, threw away blocks needed later in the same training step:
// 136 of 176 requests per step missed.) LibTorch also frees through raw_deleter() with the data pointer alone, so
// every DataPtr's context is its data and one deleter serves all: a pointer found among the large blocks in use
// goes back to the pool, any other to c10's free.
class ReusingAllocator final : public c10::Allocator {
 public:
  ReusingAllocator() : limit_(idle_bytes_limit()) {}

  // LibTorch 1.x declares allocate() const and 2.x non-const: one of the two overrides, in either.
  c10::DataPtr allocate(size_t bytes) const { return take(bytes); }
  c10::DataPtr allocate(size_t bytes) { return take(bytes); }
  c10::DeleterFnPtr raw_deleter() const override { return &ReusingAllocator::release_raw; }
  void copy_data(void* dest, const void* src, size_t count) const { std::memcpy(dest, src, count); }  // 2.x

  void enable(bool on) { enabled_ = on; }
  TensorMemoryStats stats() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  static void release_raw(void* data);

  c10::DataPtr take(size_t bytes) const {
    void* data = bytes >= kReusedBlockBytes && enabled_ ? take_large(bytes) : c10::alloc_cpu(bytes);
    return {data, data, &ReusingAllocator::release_raw, c10::Device(c10::DeviceType::CPU)};
  }

  void* take_large(size_t bytes) const {
    const size_t size = (bytes + kBlockGranule - 1) / kBlockGranule * kBlockGranule;
    void* data = reused(size);
    if (!data) data = fresh(size);
    if (!data) {  // out of memory: the kept blocks go first, then c10 (which raises LibTorch's error)
      release_all();
      data = fresh(size);
      if (!data) return c10::alloc_cpu(bytes);
    }
    const std::lock_guard<std::mutex> lock(mutex_);
    in_use_[data] = size;
    return data;
  }

  // The newest idle block of `size`; else nullptr, after freeing the stale ones.
  void* reused(size_t size) const {
    std::vector<void*> stale;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      ++requests_;
      const auto newest = std::find_if(idle_.rbegin(), idle_.rend(), [&](const Block& b) { return b.size == size; });
      if (newest != idle_.rend()) {
        void* data = newest->data;
        idle_.erase(std::next(newest).base());
        stats_.idle_bytes -= size, ++stats_.reused;
        return data;
      }
      ++stats_.fresh;
      while (!idle_.empty() && requests_ - idle_.front().freed > kStaleAfterRequests) stale.push_back(pop_oldest());
    }
    for (void* data : stale) std::free(data);
    return nullptr;
  }

  void give_back(void* data) const {
    std::vector<void*> evicted;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      const auto used = in_use_.find(data);
      if (used != in_use_.end()) {
        idle_.push_back({data, used->second, requests_});
        stats_.idle_bytes += used->second;
        in_use_.erase(used);
        while (stats_.idle_bytes > limit_) evicted.push_back(pop_oldest());
        data = nullptr;
      }
    }
    for (void* block : evicted) std::free(block);  // posix_memalign's
    if (data) c10::free_cpu(data);
  }

  // Takes the oldest idle block out of the pool (the caller frees it, outside the lock).
  void* pop_oldest() const {
    void* data = idle_.front().data;
    stats_.idle_bytes -= idle_.front().size;
    idle_.pop_front();
    return data;
  }

  // Frees every idle block.
  void release_all() const {
    std::vector<void*> evicted;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      while (!idle_.empty()) evicted.push_back(pop_oldest());
    }
    for (void* data : evicted) std::free(data);
  }

  static void* fresh(size_t size) {
    void* data = nullptr;
    if (posix_memalign(&data, kBlockGranule, size) != 0) return nullptr;
    madvise(data, size, MADV_HUGEPAGE);  // a hint: where the kernel has no THP, ordinary pages
    return data;
  }

  size_t limit_;
  std::atomic<bool> enabled_{true};
  mutable std::mutex mutex_;
  mutable std::list<Block> idle_;
  mutable std::unordered_map<void*, size_t> in_use_;  // large blocks handed out, with their rounded sizes
  mutable TensorMemoryStats stats_;
  mutable uint64_t requests_ = 0;
};

ReusingAllocator* installed = nullptr;  // never destroyed: tensors may outlive any owner

void ReusingAllocator::release_raw(void* data) { installed->give_back(data); }

}  // namespace

size_t idle_bytes_limit() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const size_t memory = pages > 0 && page > 0 ? size_t(pages) * size_t(page) : size_t(0);
  return std::min(memory / 8, size_t(2) << 30);
}

void reuse_tensor_memory(bool enable) {
  static std::once_flag once;
  std::call_once(once, [] {
    installed = new ReusingAllocator();
    c10::SetCPUAllocator(installed, /*priority=*/1);
  });
  installed->enable(enable);
}

TensorMemoryStats tensor_memory_stats() { return installed ? installed->stats() : TensorMemoryStats{}; }

}  // namespace efficientad::detail
