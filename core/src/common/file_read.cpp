#include "common/file_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "efficientad/errors.h"

namespace efficientad::detail {

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "is a folder, not a file";
  if (S_ISFIFO(mode)) return "is a FIFO (named pipe), not a regular file";
  if (S_ISCHR(mode)) return "is a character device, not a regular file";
  if (S_ISBLK(mode)) return "is a block device, not a regular file";
  if (S_ISSOCK(mode)) return "is a socket, not a regular file";
  return nullptr;
}

std::string size_problem(uint64_t size, uint64_t max_bytes) {
  if (size == 0) return "is empty (0 bytes)";
  if (size > max_bytes) {
    return "is " + std::to_string(size) + " bytes, more than the " + std::to_string(max_bytes) + " accepted";
  }
  return "";
}

// Opens without blocking (a FIFO would block in open()), then checks what was opened: a path swapped between a
// check and the open cannot slip through. Returns -1 and sets *problem when the file cannot be read.
int open_regular(const std::string& path, uint64_t max_bytes, uint64_t* size, std::string* problem) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *problem = errno == ENOENT ? "not found" : errno == EACCES ? "cannot be opened (permission denied)"
                                                               : std::string("cannot be opened (") + std::strerror(errno) + ")";
    return -1;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    *problem = std::string("cannot be examined (") + std::strerror(errno) + ")";
  } else if (const char* kind = kind_of(st.st_mode)) {
    *problem = kind;
  } else {
    *size = uint64_t(st.st_size);
    *problem = size_problem(*size, max_bytes);
  }
  if (!problem->empty()) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads up to `count` bytes; a file that shrank meanwhile gives fewer.
std::string read_into(int fd, uint8_t* out, size_t count, size_t* got) {
  *got = 0;
  while (*got < count) {
    const ssize_t n = ::read(fd, out + *got, count - *got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::string("cannot be read (") + std::strerror(errno) + ")";
    if (n == 0) break;
    *got += size_t(n);
  }
  return "";
}

// Closes the descriptor however the read ends (a head check may throw).
struct FileDescriptor {
  int fd;
  ~FileDescriptor() { ::close(fd); }
};

// Opens `path` once; reads up to `limit` bytes, the first head_bytes of them handed to `check_head` before
// anything more is allocated or read. `exact`: the file must still hold what fstat said.
template <typename E>
std::vector<uint8_t> read_checked(const std::string& path, uint64_t max_bytes, size_t limit, bool exact,
                                  const std::string& what, size_t head_bytes = 0, const HeadCheck& check_head = {}) {
  if (path.empty()) throw E("no " + what + " given");
  uint64_t size = 0;
  std::string problem;
  const FileDescriptor file{open_regular(path, max_bytes, &size, &problem)};
  if (file.fd < 0) throw E(path + ": " + what + " " + problem);
  const size_t wanted = size_t(std::min<uint64_t>(size, limit));
  std::vector<uint8_t> bytes(std::min(wanted, head_bytes));
  size_t got = 0;
  problem = read_into(file.fd, bytes.data(), bytes.size(), &got);
  if (problem.empty() && check_head) {
    bytes.resize(got);
    check_head(bytes, size);
  }
  if (problem.empty() && got == bytes.size() && wanted > bytes.size()) {
    const size_t head = bytes.size();
    bytes.resize(wanted);
    size_t rest = 0;
    problem = read_into(file.fd, bytes.data() + head, wanted - head, &rest);
    got = head + rest;
  }
  if (problem.empty() && exact && got != wanted) problem = "changed size while being read";
  if (!problem.empty()) throw E(path + ": " + what + " " + problem);
  bytes.resize(got);
  return bytes;
}

}  // namespace

template <typename E>
std::vector<uint8_t> read_untrusted_file(const std::string& path, uint64_t max_bytes, const std::string& what) {
  return read_checked<E>(path, max_bytes, SIZE_MAX, true, what);
}

template <typename E>
std::vector<uint8_t> read_untrusted_file(const std::string& path, uint64_t max_bytes, const std::string& what,
                                         size_t head_bytes, const HeadCheck& check_head) {
  return read_checked<E>(path, max_bytes, SIZE_MAX, true, what, head_bytes, check_head);
}

template <typename E>
std::vector<uint8_t> read_file_prefix(const std::string& path, uint64_t max_bytes, size_t count,
                                      const std::string& what) {
  return read_checked<E>(path, max_bytes, count, false, what);
}

template std::vector<uint8_t> read_untrusted_file<ModelFileError>(const std::string&, uint64_t, const std::string&);
template std::vector<uint8_t> read_untrusted_file<ImageError>(const std::string&, uint64_t, const std::string&);
template std::vector<uint8_t> read_untrusted_file<ModelFileError>(const std::string&, uint64_t, const std::string&,
                                                                   size_t, const HeadCheck&);
template std::vector<uint8_t> read_file_prefix<ModelFileError>(const std::string&, uint64_t, size_t, const std::string&);
template std::vector<uint8_t> read_file_prefix<ImageError>(const std::string&, uint64_t, size_t, const std::string&);

}  // namespace efficientad::detail
