// Files are written whole or not at all: a temporary file in the same folder, fsync, then rename over the target.
// A crash, a full disk or a cancelled run leaves the previous file (if any) untouched.
#pragma once

#include <cstddef>
#include <string>

namespace efficientad::detail {

// Throws IoError naming the path and the system's reason; the temporary file is removed on failure.
void write_file_atomically(const std::string& path, const void* data, size_t size);

// Checks that a file could be created next to `path` (folder exists and is writable), so that long jobs fail at
// the start rather than after hours. Throws IoError.
void check_can_write(const std::string& path);

}  // namespace efficientad::detail
