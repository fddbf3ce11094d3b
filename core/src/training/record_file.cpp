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
  const off_t start = off_t(records_ * record_bytes_);
  size_t done = 0;
  while (done < record_bytes_) {
    const ssize_t n = pwrite(fd_, record + done, record_bytes_ - done, start + off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // A partial record lies beyond size(): it is never read, and the next append overwrites it.
      const int error = n < 0 ? errno : ENOSPC;
      throw IoError("cannot keep training image " + std::to_string(records_ + 1) + " in the temporary file in " +
                    folder_ + ": " + system_reason(error) + " (" + std::to_string(records_ * record_bytes_ >> 20) +
                    " MB written; free disk space there or train on fewer images)");
    }
    done += size_t(n);
  }
  ++records_;
}

void RecordFile::read(size_t index, uint8_t* out) const {
  const off_t start = off_t(index * record_bytes_);
  size_t done = 0;
  while (done < record_bytes_) {
    const ssize_t n = pread(fd_, out + done, record_bytes_ - done, start + off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw IoError("cannot read training image " + std::to_string(index + 1) + " back from the temporary file in " +
                    folder_ + ": " + (n < 0 ? system_reason(errno) : std::string("file truncated")));
    }
    done += size_t(n);
  }
}

}  // namespace efficientad::detail
