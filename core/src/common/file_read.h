// Reading files that come from outside (models, teachers, images, backbones) without trusting them: only regular
// files, never more than a stated number of bytes, and the size checked before any allocation. A FIFO, a
// character device such as /dev/zero or a folder is refused at once instead of hanging or filling memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace efficientad::detail {

// The whole file. Throws E("<path>: <what> <problem>") when it cannot be read, e.g. "washer.efad: model file
// not found"; problems read like "not found", "is a folder, not a file", "is a FIFO, not a regular file",
// "is 10737418240 bytes, more than the 1073741824 accepted", "is empty (0 bytes)".
template <typename E>
std::vector<uint8_t> read_untrusted_file(const std::string& path, uint64_t max_bytes, const std::string& what);

// Refuses a file from its first bytes and its size (by throwing) before the rest is read.
using HeadCheck = std::function<void(const std::vector<uint8_t>& head, uint64_t file_size)>;
// The whole file with the same checks, read in one open: its first head_bytes (fewer if it is shorter) go to
// `check_head` before anything more is allocated or read.
template <typename E>
std::vector<uint8_t> read_untrusted_file(const std::string& path, uint64_t max_bytes, const std::string& what,
                                         size_t head_bytes, const HeadCheck& check_head);

// The first `count` bytes (fewer if the file is shorter), with the same checks.
template <typename E>
std::vector<uint8_t> read_file_prefix(const std::string& path, uint64_t max_bytes, size_t count,
                                      const std::string& what);

}  // namespace efficientad::detail
