#pragma once

#include <cstddef>
#include <cstdint>

namespace efficientad::detail {

// CRC-32 (IEEE 802.3, as zlib and PNG) of `size` bytes, continuing from `crc` (0 to start).
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

// 64-bit FNV-1a, used for model ids.
uint64_t fnv1a64(const void* data, size_t size);

}  // namespace efficientad::detail
