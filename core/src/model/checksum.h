// Checksums of the container format and the content ids of model files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace efficientad::detail {

// CRC-32 (IEEE 802.3, as zlib and PNG) of `size` bytes, continuing from `crc` (0 to start).
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

// 64-bit FNV-1a of `size` bytes.
uint64_t fnv1a64(const void* data, size_t size);

// The id of a model or teacher file: FNV-1a of its bytes as 16 hex digits (an identity, not a security hash).
std::string content_id(const std::vector<uint8_t>& file_bytes);

}  // namespace efficientad::detail
