// LibTorch's CPU tensors through the reusing allocator (common/tensor_memory.h): a freed large block serves the
// next request of its rounded size, raw allocations round-trip, idle memory stays under its limit, stale blocks
// are freed, and with_glibc_memory bypasses the pool; impossible sizes raise LibTorch's error, small and empty
// tensors stay with c10, and reuse comes back on after a failure inside with_glibc_memory.
#include <ATen/ATen.h>
#include <c10/core/CPUAllocator.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "check_compat.h"
#include "common/tensor_memory.h"
#include "test_helpers.h"

using namespace efficientad::detail;

namespace {

constexpr size_t kMiB = size_t(1) << 20;

at::Tensor bytes(size_t n) { return at::empty({int64_t(n)}, at::kByte); }

}  // namespace

START_TEST(a_freed_block_serves_the_next_request_of_its_size) {
  at::Tensor first = bytes(3 * kMiB);
  void* const block = first.data_ptr();
  first.reset();
  const TensorMemoryStats before = tensor_memory_stats();
  ck_assert(before.idle_bytes >= 4 * kMiB);  // 3 MiB round up to two huge pages
  const at::Tensor again = bytes(3 * kMiB + 512 * 1024);  // another size in the same 4 MiB
  ck_assert_ptr_eq(again.data_ptr(), block);
  ck_assert_uint_eq(tensor_memory_stats().reused, before.reused + 1);
  ck_assert_uint_eq(tensor_memory_stats().idle_bytes, before.idle_bytes - 4 * kMiB);
}
END_TEST

START_TEST(raw_allocations_round_trip) {
  c10::Allocator* allocator = c10::GetCPUAllocator();
  for (size_t n : {size_t(100), 5 * kMiB}) {  // c10's block and a pooled one
    void* p = allocator->raw_allocate(n);
    std::memset(p, 1, n);
    allocator->raw_deallocate(p);
  }
  const at::Tensor after = bytes(5 * kMiB);  // the pooled one came back
  ck_assert(tensor_memory_stats().reused > 0);
}
END_TEST

START_TEST(idle_memory_stays_under_its_limit) {
  const size_t limit = idle_bytes_limit();
  ck_assert(limit > 0 && limit <= (size_t(2) << 30));
  {
    std::vector<at::Tensor> big;  // untouched: posix_memalign reserves, nothing becomes resident
    const size_t gib = size_t(1) << 30;
    for (size_t total = 0; total <= limit + gib; total += gib) big.push_back(bytes(gib));
  }
  const TensorMemoryStats s = tensor_memory_stats();
  std::printf("idle after freeing more than the limit: %zu MiB of %zu MiB\n", s.idle_bytes / kMiB, limit / kMiB);
  ck_assert(s.idle_bytes <= limit);
  ck_assert(s.idle_bytes + (size_t(1) << 30) > limit);  // the newest kept, up to the limit
}
END_TEST

START_TEST(stale_blocks_are_freed_at_the_next_miss) {
  bytes(5 * kMiB);  // freed at once: a 6 MiB block goes idle
  for (int i = 0; i < 2100; ++i) bytes(9 * kMiB);  // another phase: its requests pass the 6 MiB block over
  const size_t before = tensor_memory_stats().idle_bytes;
  const at::Tensor miss = bytes(13 * kMiB);  // a size never seen: frees what went stale
  const TensorMemoryStats after = tensor_memory_stats();
  std::printf("idle before the miss %zu MiB, after %zu MiB\n", before / kMiB, after.idle_bytes / kMiB);
  ck_assert(before - after.idle_bytes >= 6 * kMiB);
  const at::Tensor stale = bytes(5 * kMiB);  // its block is gone: a fresh one
  ck_assert_uint_eq(tensor_memory_stats().fresh, after.fresh + 1);
  const at::Tensor recent = bytes(9 * kMiB);  // the recent phase's block is still there
  ck_assert_uint_eq(tensor_memory_stats().reused, after.reused + 1);
}
END_TEST

START_TEST(glibc_memory_bypasses_the_pool) {
  bytes(7 * kMiB);  // an idle 8 MiB block
  const TensorMemoryStats before = tensor_memory_stats();
  with_glibc_memory([&] {
    const at::Tensor t = bytes(7 * kMiB);
    const TensorMemoryStats during = tensor_memory_stats();
    ck_assert_uint_eq(during.reused, before.reused);
    ck_assert_uint_eq(during.fresh, before.fresh);
    ck_assert_uint_eq(during.idle_bytes, before.idle_bytes);
  });
  const at::Tensor t = bytes(7 * kMiB);  // on again
  ck_assert_uint_eq(tensor_memory_stats().reused, before.reused + 1);
}
END_TEST

START_TEST(impossible_sizes_raise_libtorchs_error_n) {
  try {
    bytes(size_t(1) << 50);
    ck_abort_msg("a petabyte was allocated");
  } catch (const c10::Error& e) {
    std::printf("%.80s\n", e.what());
    ck_assert_msg(std::strstr(e.what(), "allocate"), "%s", e.what());  // LibTorch's words differ by version
  }
  const at::Tensor t = bytes(3 * kMiB);  // still serves
  ck_assert(t.data_ptr() != nullptr);
}
END_TEST

START_TEST(small_and_empty_tensors_stay_with_c10_n) {
  const TensorMemoryStats before = tensor_memory_stats();
  { const at::Tensor none = bytes(0), small = bytes(kReusedBlockBytes - 1); }
  const TensorMemoryStats after = tensor_memory_stats();
  ck_assert_uint_eq(after.fresh, before.fresh);
  ck_assert_uint_eq(after.reused, before.reused);
  ck_assert_uint_eq(after.idle_bytes, before.idle_bytes);
}
END_TEST

START_TEST(reuse_comes_back_after_a_failure_n) {
  try {
    with_glibc_memory([] { throw std::runtime_error("work failed"); });
    ck_abort_msg("the failure was swallowed");
  } catch (const std::runtime_error&) {
  }
  bytes(11 * kMiB);
  const size_t reused = tensor_memory_stats().reused;
  bytes(11 * kMiB);
  ck_assert_uint_eq(tensor_memory_stats().reused, reused + 1);
}
END_TEST

int main() {
  reuse_tensor_memory();
  return test::run_cases("tensor_memory", {
      {"positive", TESTS(a_freed_block_serves_the_next_request_of_its_size, raw_allocations_round_trip,
                         idle_memory_stays_under_its_limit, stale_blocks_are_freed_at_the_next_miss,
                         glibc_memory_bypasses_the_pool), 120},
      {"negative", TESTS(impossible_sizes_raise_libtorchs_error_n, small_and_empty_tensors_stay_with_c10_n,
                         reuse_comes_back_after_a_failure_n), 120},
  }, test::Fork::None);
}
