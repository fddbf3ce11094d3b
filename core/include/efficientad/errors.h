// Exceptions thrown by the engine. Every message says what went wrong and what the user can do about it;
// callers (the CLI, the GStreamer elements) show e.what() as is.
#pragma once

#include <stdexcept>
#include <string>

namespace efficientad {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An option or argument out of range (bad input size, unknown variant, empty batch, ...).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A model or teacher file that is missing, corrupt, truncated, of another format version or inconsistent.
class ModelFileError : public Error {
 public:
  using Error::Error;
};

// An image that cannot be read or used (unreadable file, zero size, unsupported pixel format).
class ImageError : public Error {
 public:
  using Error::Error;
};

// A requested device that this build or this machine cannot provide.
class DeviceError : public Error {
 public:
  using Error::Error;
};

// Writing a file failed (permissions, disk full); the previous file, if any, is untouched.
class IoError : public Error {
 public:
  using Error::Error;
};

// A long operation (training) stopped because the caller asked it to.
class Cancelled : public Error {
 public:
  using Error::Error;
};

}  // namespace efficientad
