// Reading files that come from outside (models, teachers, images, backbones) without trusting them: only regular
// files, never more than a stated number of bytes, and the size checked before any allocation. A FIFO, a
// character device such as /dev/zero or a folder is refused at once instead of hanging or filling memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace efficientad::detail {

// Why `path` cannot be read as a file of at most max_bytes ("" when it can); *size gets its size.
// Problems read like "not found", "is a folder, not a file", "is a FIFO, not a regular file",
// "is 10737418240 bytes, more than the 1073741824 accepted", "is empty (0 bytes)".
std::string file_problem(const std::string& path, uint64_t max_bytes, uint64_t* size = nullptr);

// The whole file. Throws E("<path>: <what> <problem>") for every problem above and for read errors, e.g.
// "washer.efad: model file not found".
template <typename E>
std::vector<uint8_t> read_untrusted_file(const std::string& path, uint64_t max_bytes, const std::string& what);

// The first `count` bytes (fewer if the file is shorter), with the same checks.
template <typename E>
std::vector<uint8_t> read_file_prefix(const std::string& path, uint64_t max_bytes, size_t count,
                                      const std::string& what);

}  // namespace efficientad::detail
