#include "common/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "efficientad/errors.h"

namespace fs = std::filesystem;

namespace efficientad::detail {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
  throw IoError("cannot " + what + " " + path + ": " + std::strerror(err));
}

// The folder a file at `path` goes into, after checking that the file can be placed there.
fs::path target_folder(const std::string& path) {
  fs::path target(path);
  fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw IoError("cannot write " + path + ": folder " + folder.string() + " does not exist");
  if (fs::is_directory(target, ec)) throw IoError("cannot write " + path + ": a folder of that name exists");
  return folder;
}

// Temporary files are named ".NAME.tmp-PID-XXXXXX". Those of processes that no longer run were left by a killed
// write (power loss, SIGKILL): removed before the next write of NAME, so that they never pile up.
std::string temporary_prefix(const fs::path& target) { return "." + target.filename().string() + ".tmp-"; }

void remove_stale_temporaries(const fs::path& folder, const fs::path& target) {
  const std::string prefix = temporary_prefix(target);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && kill(pid_t(pid), 0) != 0 && errno == ESRCH) fs::remove(entry.path(), ec);
  }
}

}  // namespace

void check_can_write(const std::string& path) {
  const fs::path folder = target_folder(path);
  std::string probe_name = (folder / ".efficientad-write-test-XXXXXX").string();
  std::vector<char> probe(probe_name.begin(), probe_name.end());
  probe.push_back('\0');
  int fd = mkstemp(probe.data());
  if (fd < 0) fail("create files in the folder of", path, errno);
  close(fd);
  unlink(probe.data());
}

void write_file_atomically(const std::string& path, const void* data, size_t size) {
  const fs::path folder = target_folder(path);
  const fs::path target(path);
  remove_stale_temporaries(folder, target);
  std::string temp_name = (folder / (temporary_prefix(target) + std::to_string(getpid()) + "-XXXXXX")).string();
  std::vector<char> temp(temp_name.begin(), temp_name.end());
  temp.push_back('\0');
  int fd = mkstemp(temp.data());
  if (fd < 0) fail("create a temporary file next to", path, errno);
  const std::string temp_path(temp.data());

  auto abandon = [&](const std::string& what, int err) {
    close(fd);
    unlink(temp_path.c_str());
    fail(what, path, err);
  };
  const char* bytes = static_cast<const char*>(data);
  size_t written = 0;
  while (written < size) {
    ssize_t n = write(fd, bytes + written, size - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      abandon("write", errno);
    }
    written += size_t(n);
  }
  if (fsync(fd) != 0) abandon("flush", errno);
  // mkstemp creates 0600; model and image files are meant to be shared like any other output.
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  if (close(fd) != 0) {
    int err = errno;
    unlink(temp_path.c_str());
    fail("close", path, err);
  }
  if (rename(temp_path.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(temp_path.c_str());
    fail("rename the temporary file onto", path, err);
  }
  // Make the rename itself durable.
  int dir_fd = open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
}

}  // namespace efficientad::detail
