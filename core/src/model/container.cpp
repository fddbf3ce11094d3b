#include "model/container.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <set>

#include "common/atomic_file.h"
#include "common/file_read.h"
#include "efficientad/limits.h"
#include "model/checksum.h"
#include "efficientad/errors.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the model format is little-endian");

namespace efficientad::detail {

namespace {

constexpr size_t kPreambleBytes = 8 + 4 + 8;  // magic, version, payload size
constexpr size_t kChecksumBytes = 4;
constexpr uint8_t kFloat32 = 1;
constexpr size_t kMaxNameLength = 256;
constexpr size_t kMaxRank = 8;

template <typename T>
void put(std::vector<uint8_t>& out, T value) {
  const auto* p = reinterpret_cast<const uint8_t*>(&value);
  out.insert(out.end(), p, p + sizeof(T));
}

// Bounds-checked reader over the payload: every read names what it was reading when the data runs out.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const std::string& source) : p_(data), end_(data + size), source_(source) {}

  template <typename T>
  T get(const char* what) {
    T value;
    std::memcpy(&value, take(sizeof(T), what), sizeof(T));
    return value;
  }
  const uint8_t* take(size_t n, const char* what) {
    if (size_t(end_ - p_) < n) fail(std::string("file ends inside ") + what);
    const uint8_t* at = p_;
    p_ += n;
    return at;
  }
  size_t remaining() const { return size_t(end_ - p_); }
  [[noreturn]] void fail(const std::string& why) const {
    throw ModelFileError(source_ + ": corrupt model file (" + why + ")");
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  const std::string& source_;
};

bool valid_key(const std::string& key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_' ||
          c == '.')) {
      return false;
    }
  }
  return true;
}

std::map<std::string, std::string> parse_header(const std::string& text, const Reader& reader) {
  std::map<std::string, std::string> header;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) reader.fail("header does not end with a newline");
    std::string line = text.substr(start, end - start);
    size_t eq = line.find('=');
    if (eq == std::string::npos || !valid_key(line.substr(0, eq))) reader.fail("malformed header line '" + line + "'");
    if (!header.emplace(line.substr(0, eq), line.substr(eq + 1)).second) {
      reader.fail("header key '" + line.substr(0, eq) + "' appears twice");
    }
    start = end + 1;
  }
  return header;
}

}  // namespace

const TensorRecord& Container::tensor(const std::string& name, const std::string& source) const {
  for (const auto& t : tensors) {
    if (t.name == name) return t;
  }
  throw ModelFileError(source + ": tensor '" + name + "' is missing; the file was not written by this library or " +
                       "is of another kind");
}

bool Container::has_tensor(const std::string& name) const {
  for (const auto& t : tensors) {
    if (t.name == name) return true;
  }
  return false;
}

const std::string& Container::value(const std::string& key, const std::string& source) const {
  auto it = header.find(key);
  if (it == header.end()) throw ModelFileError(source + ": header entry '" + key + "' is missing");
  return it->second;
}

std::vector<uint8_t> serialize(const Container& container) {
  std::vector<uint8_t> payload;
  std::string header_text;
  for (const auto& [key, value] : container.header) {
    if (!valid_key(key)) throw InvalidArgument("invalid model header key '" + key + "'");
    std::string clean = value;
    for (char& c : clean) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    header_text += key + "=" + clean + "\n";
  }
  put<uint32_t>(payload, uint32_t(header_text.size()));
  payload.insert(payload.end(), header_text.begin(), header_text.end());
  put<uint32_t>(payload, uint32_t(container.tensors.size()));
  for (const auto& t : container.tensors) {
    size_t elements = 1;
    for (int64_t d : t.shape) elements *= size_t(d > 0 ? d : 0);
    if (t.shape.empty() || elements != t.values.size() || t.name.empty() || t.name.size() > kMaxNameLength) {
      throw InvalidArgument("tensor '" + t.name + "' has a shape that does not match its values");
    }
    put<uint16_t>(payload, uint16_t(t.name.size()));
    payload.insert(payload.end(), t.name.begin(), t.name.end());
    put<uint8_t>(payload, kFloat32);
    put<uint8_t>(payload, uint8_t(t.shape.size()));
    for (int64_t d : t.shape) put<int64_t>(payload, d);
    const auto* bytes = reinterpret_cast<const uint8_t*>(t.values.data());
    payload.insert(payload.end(), bytes, bytes + t.values.size() * sizeof(float));
  }

  std::vector<uint8_t> out(kContainerMagic, kContainerMagic + 8);
  put<uint32_t>(out, container.version);
  put<uint64_t>(out, uint64_t(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  put<uint32_t>(out, crc32(out.data(), out.size()));
  return out;
}

namespace {

// Magic, version and recorded size of a file of `file_size` bytes whose first bytes are `head`; returns the
// version. Checked before the rest of a file is read, so that a file claiming another size is never read whole.
uint32_t check_preamble(const uint8_t* head, size_t head_size, uint64_t file_size, const std::string& source) {
  if (head_size < 8 || std::memcmp(head, kContainerMagic, 8) != 0) {
    throw ModelFileError(source + ": not a gst-efficientad model file (wrong magic bytes); pass a file written by " +
                         "'efficientad train'");
  }
  if (head_size < kPreambleBytes || file_size < kPreambleBytes + kChecksumBytes) {
    throw ModelFileError(source + ": model file is truncated (" + std::to_string(file_size) + " bytes)");
  }
  uint32_t version;
  std::memcpy(&version, head + 8, 4);
  if (version > kContainerVersion) {
    throw ModelFileError(source + ": model format version " + std::to_string(version) +
                         " is newer than this build reads (version " + std::to_string(kContainerVersion) +
                         "); upgrade gst-efficientad");
  }
  if (version == 0) throw ModelFileError(source + ": invalid model format version 0");
  uint64_t payload_size;
  std::memcpy(&payload_size, head + 12, 8);
  if (payload_size > file_size || kPreambleBytes + payload_size + kChecksumBytes != file_size) {
    const uint64_t expected = payload_size > file_size ? payload_size : kPreambleBytes + payload_size + kChecksumBytes;
    throw ModelFileError(source + ": model file is " + (file_size < expected ? "truncated" : "longer than recorded") +
                         " (" + std::to_string(file_size) + " bytes, header says " + std::to_string(expected) +
                         "); copy it again or re-train");
  }
  return version;
}

}  // namespace

Container parse(const std::vector<uint8_t>& bytes, const std::string& source) {
  Container container;
  container.version = check_preamble(bytes.data(), bytes.size(), bytes.size(), source);
  uint64_t payload_size;
  std::memcpy(&payload_size, bytes.data() + 12, 8);
  uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes.data() + bytes.size() - kChecksumBytes, 4);
  if (crc32(bytes.data(), bytes.size() - kChecksumBytes) != stored_crc) {
    throw ModelFileError(source + ": model file is corrupt (checksum mismatch); copy it again or re-train");
  }

  Reader reader(bytes.data() + kPreambleBytes, size_t(payload_size), source);
  const uint32_t header_size = reader.get<uint32_t>("the header size");
  const auto* header_bytes = reader.take(header_size, "the header");
  if (header_size > kMaxModelHeaderBytes) reader.fail("a header of " + std::to_string(header_size) + " bytes");
  container.header = parse_header(std::string(reinterpret_cast<const char*>(header_bytes), header_size), reader);

  const uint32_t count = reader.get<uint32_t>("the tensor count");
  std::set<std::string> names;
  for (uint32_t i = 0; i < count; ++i) {
    TensorRecord t;
    const uint16_t name_length = reader.get<uint16_t>("a tensor name");
    if (name_length == 0 || name_length > kMaxNameLength) reader.fail("tensor name length " + std::to_string(name_length));
    t.name.assign(reinterpret_cast<const char*>(reader.take(name_length, "a tensor name")), name_length);
    if (!names.insert(t.name).second) reader.fail("tensor '" + t.name + "' appears twice");
    if (reader.get<uint8_t>("a tensor type") != kFloat32) reader.fail("tensor '" + t.name + "' is not float32");
    const uint8_t rank = reader.get<uint8_t>("a tensor rank");
    if (rank == 0 || rank > kMaxRank) reader.fail("tensor '" + t.name + "' has rank " + std::to_string(rank));
    uint64_t elements = 1;
    for (uint8_t d = 0; d < rank; ++d) {
      const int64_t dim = reader.get<int64_t>("a tensor shape");
      if (dim <= 0 || uint64_t(dim) > reader.remaining()) reader.fail("tensor '" + t.name + "' has dimension " + std::to_string(dim));
      elements *= uint64_t(dim);
      if (elements > reader.remaining()) reader.fail("tensor '" + t.name + "' is larger than the file");
      if (elements > kMaxTensorElements) reader.fail("tensor '" + t.name + "' has more elements than accepted");
      t.shape.push_back(dim);
    }
    const auto* data = reader.take(size_t(elements) * sizeof(float), "tensor data");
    t.values.resize(size_t(elements));
    std::memcpy(t.values.data(), data, size_t(elements) * sizeof(float));
    for (float v : t.values) {
      if (!std::isfinite(v)) reader.fail("tensor '" + t.name + "' holds NaN or infinite values; re-train the model");
    }
    container.tensors.push_back(std::move(t));
  }
  if (reader.remaining() != 0) reader.fail(std::to_string(reader.remaining()) + " unexpected bytes after the last tensor");
  return container;
}

void write_container(const std::string& path, const Container& container) {
  const std::vector<uint8_t> bytes = serialize(container);
  write_file_atomically(path, bytes.data(), bytes.size());
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  return read_untrusted_file<ModelFileError>(path, kMaxModelFileBytes, "model file", kPreambleBytes,
                                             [&](const std::vector<uint8_t>& head, uint64_t size) {
                                               check_preamble(head.data(), head.size(), size, path);
                                             });
}

Container read_container(const std::string& path) { return parse(read_file_bytes(path), path); }

}  // namespace efficientad::detail
