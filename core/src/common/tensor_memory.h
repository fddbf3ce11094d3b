// Memory for LibTorch's CPU tensors that is reused instead of handed back to the kernel.
//
// Every layer of every frame and training step allocates its activations afresh. glibc serves blocks over 32 MB
// (and, after a free, the heap's top) straight from the kernel, which zero-fills them page by page at first touch:
// on the 2-core VMs of this project that page-faulting took most of the time of exact inference (386 ms per image
// vs 104 ms once reused) and half of a fast training step's ReLU, pooling-gradient and zeroing time (bench rows in
// docs/RESULTS.md, "Reused tensor memory"). The allocator installed here keeps freed blocks of at least
// kReusedBlockBytes for the next request of the same rounded size, up to idle_bytes_limit() of idle memory, and
// asks for transparent huge pages for new ones (512 times fewer faults where reuse cannot help).
#pragma once

#include <cstddef>

namespace efficientad::detail {

constexpr size_t kReusedBlockBytes = size_t(1) << 20;  // smaller blocks stay with glibc, whose bins reuse them
constexpr size_t kBlockGranule = size_t(2) << 20;      // sizes round up to a huge page

// Installs the allocator as LibTorch's CPU allocator once per process (tensors allocated before keep their own
// deleter), and turns reuse on or off: off, new requests go to glibc as without it, and the kept blocks wait for
// reuse to come back on (the benchmark's comparison, contender by contender). Safe from any thread.
void reuse_tensor_memory(bool enable = true);

// Runs `work` with reuse off (new tensors from glibc), then turns it back on; returns what `work` returns.
template <typename Work>
auto with_glibc_memory(Work&& work) {
  reuse_tensor_memory(false);
  struct Restore {
    ~Restore() { reuse_tensor_memory(true); }
  } restore;
  return work();
}

// The bound on idle (freed, kept) bytes: an eighth of the machine's memory, at most 2 GiB.
size_t idle_bytes_limit();

struct TensorMemoryStats {
  size_t idle_bytes = 0;  // kept for reuse now
  size_t reused = 0;      // requests served from kept blocks since installation
  size_t fresh = 0;       // requests of at least kReusedBlockBytes served by new blocks
};
TensorMemoryStats tensor_memory_stats();

}  // namespace efficientad::detail
