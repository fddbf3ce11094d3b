#include "training/record_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "efficientad/errors.h"

namespace efficientad::detail {

namespace {

std::string system_reason(int error) { return std::strerror(error); }

// Runs pwrite or pread until all `bytes` moved (they may move fewer at a time, or be interrupted). Returns 0 when
// done, else the errno of the failure, or -1 where the file ended (read) or the disk took nothing more (write).
template <typename Transfer>
int transfer_all(Transfer transfer, size_t bytes, off_t start) {
  size_t done = 0;
  while (done < bytes) {
    const ssize_t n = transfer(done, bytes - done, start + off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return -1;
    done += size_t(n);
  }
  return 0;
}

}  // namespace

RecordFile::RecordFile(const std::string& folder, size_t record_bytes)
    : folder_(folder.empty() ? std::filesystem::temp_directory_path().string() : folder), record_bytes_(record_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_directory(folder_, ec)) {
    throw IoError("cannot keep the training images in " + folder_ + ": the folder does not exist (create it, or "
                  "choose a writable folder with free space)");
  }
  std::string pattern = folder_ + "/.efficientad-images-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  fd_ = mkstemp(name.data());
  if (fd_ < 0) {
    throw IoError("cannot create the training images' temporary file in " + folder_ + ": " + system_reason(errno) +
                  " (it needs about " + std::to_string(record_bytes_ >> 10) +
                  " KB per image; choose a writable folder with free space)");
  }
  unlink(name.data());
}

RecordFile::~RecordFile() {
  if (fd_ >= 0) close(fd_);
}

void RecordFile::append(const uint8_t* record) {
  const int error = transfer_all(
      [&](size_t done, size_t left, off_t at) { return pwrite(fd_, record + done, left, at); }, record_bytes_,
      off_t(records_ * record_bytes_));
  if (error != 0) {
    // A partial record lies beyond size(): it is never read, and the next append overwrites it.
    throw IoError("cannot keep training image " + std::to_string(records_ + 1) + " in the temporary file in " +
                  folder_ + ": " + system_reason(error < 0 ? ENOSPC : error) + " (" +
                  std::to_string(records_ * record_bytes_ >> 20) +
                  " MB written; free disk space there or train on fewer images)");
  }
  ++records_;
}

void RecordFile::read(size_t index, uint8_t* out) const {
  const int error = transfer_all(
      [&](size_t done, size_t left, off_t at) { return pread(fd_, out + done, left, at); }, record_bytes_,
      off_t(index * record_bytes_));
  if (error != 0) {
    throw IoError("cannot read training image " + std::to_string(index + 1) + " back from the temporary file in " +
                  folder_ + ": " + (error < 0 ? std::string("file truncated") : system_reason(error)));
  }
}

}  // namespace efficientad::detail
