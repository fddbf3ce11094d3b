#include "jsonlinesfile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "efficientad/errors.h"

namespace efficientad::gst {

namespace {

[[noreturn]] void fail (const std::string & what, const std::string & path)
{
  throw IoError ("cannot " + what + " " + path + ": " + std::strerror (errno));
}

/* The size of the file without a torn last line: up to and including its last newline. */
uint64_t whole_lines_size (int fd, uint64_t size)
{
  std::vector<char> block (4096);
  uint64_t end = size;
  while (end > 0) {
    const uint64_t start = end > block.size () ? end - block.size () : 0;
    const ssize_t n = pread (fd, block.data (), size_t (end - start), off_t (start));
    if (n <= 0)
      return 0;
    for (ssize_t i = n; i-- > 0;) {
      if (block[size_t (i)] == '\n')
        return start + uint64_t (i) + 1;
    }
    end = start;
  }
  return 0;
}

}  // namespace

JsonLinesFile::JsonLinesFile (std::string path, uint64_t max_bytes, unsigned keep)
    : path_ (std::move (path)), max_bytes_ (max_bytes), keep_ (keep)
{
  open ();
}

JsonLinesFile::~JsonLinesFile ()
{
  if (fd_ >= 0)
    close (fd_);
}

void
JsonLinesFile::open ()
{
  fd_ = ::open (path_.c_str (), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0)
    fail ("open the log", path_);
  struct stat st;
  if (fstat (fd_, &st) != 0)
    fail ("examine the log", path_);
  if (!S_ISREG (st.st_mode)) {
    close (fd_);
    fd_ = -1;
    throw IoError ("the log " + path_ + " is not a regular file");
  }
  size_ = uint64_t (st.st_size);
  if (size_ > 0) {
    const int reader = ::open (path_.c_str (), O_RDONLY | O_CLOEXEC);
    const uint64_t whole = reader >= 0 ? whole_lines_size (reader, size_) : size_;
    if (reader >= 0)
      close (reader);
    if (whole < size_) {
      if (ftruncate (fd_, off_t (whole)) != 0)
        fail ("repair the torn last line of", path_);
      repaired_ = size_ - whole;
      size_ = whole;
    }
  }
}

void
JsonLinesFile::rotate ()
{
  close (fd_);
  fd_ = -1;
  if (keep_ == 0) {
    if (unlink (path_.c_str ()) != 0 && errno != ENOENT)
      fail ("remove the full log", path_);
  } else {
    for (unsigned k = keep_; k > 1; --k) {  /* FILE.(k-1) -> FILE.k; the oldest is replaced */
      const std::string from = path_ + "." + std::to_string (k - 1), to = path_ + "." + std::to_string (k);
      if (rename (from.c_str (), to.c_str ()) != 0 && errno != ENOENT)
        fail ("rotate the log", from);
    }
    if (rename (path_.c_str (), (path_ + ".1").c_str ()) != 0)
      fail ("rotate the log", path_);
  }
  repaired_ = 0;
  open ();
}

void
JsonLinesFile::append (const std::string & line)
{
  const std::string whole = line + "\n";
  if (size_ > 0 && size_ + whole.size () > max_bytes_)
    rotate ();
  /* One write: O_APPEND places it at the end as a unit. A short write (full disk) is cut off again; should even
   * that fail, the next open cuts the torn line. */
  const ssize_t n = write (fd_, whole.data (), whole.size ());
  if (n != ssize_t (whole.size ())) {
    const int err = n < 0 ? errno : ENOSPC;
    if (n > 0)
      (void) !ftruncate (fd_, off_t (size_));
    errno = err;
    fail ("append to the log", path_);
  }
  size_ += whole.size ();
}

}  // namespace efficientad::gst
