// Fixed-size records in an unnamed temporary file, so that what a training run keeps per image lives on disk
// (and in the page cache, which the kernel can reclaim) rather than in the process's own memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace efficientad::detail {

class RecordFile {
 public:
  // Creates the file in `folder` (the system's temporary folder when empty) and unlinks it at once: nothing is
  // left behind, even when the process is killed. Throws IoError when the folder cannot take a file.
  RecordFile(const std::string& folder, size_t record_bytes);
  ~RecordFile();
  RecordFile(const RecordFile&) = delete;
  RecordFile& operator=(const RecordFile&) = delete;

  // Appends one record of record_bytes. Throws IoError (a full disk names the folder); the file is unchanged then.
  void append(const uint8_t* record);
  // Copies record `index` into `out`. Throws IoError.
  void read(size_t index, uint8_t* out) const;

  size_t size() const { return records_; }

 private:
  std::string folder_;
  size_t record_bytes_;
  size_t records_ = 0;
  int fd_ = -1;
};

}  // namespace efficientad::detail
