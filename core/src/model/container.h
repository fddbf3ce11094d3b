// The on-disk container shared by model and teacher files (format described in models/README.md):
// magic, format version, a key=value text header, named float32 tensors and a CRC-32 over everything.
// This layer knows nothing about networks; model_format.cpp checks that the right tensors are present.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace efficientad::detail {

constexpr char kContainerMagic[8] = {'E', 'F', 'A', 'D', 'M', 'O', 'D', 'L'};
constexpr uint32_t kContainerVersion = 1;

struct TensorRecord {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

struct Container {
  uint32_t version = kContainerVersion;
  std::map<std::string, std::string> header;
  std::vector<TensorRecord> tensors;

  // Lookups throw ModelFileError naming `source` and the missing entry.
  const TensorRecord& tensor(const std::string& name, const std::string& source) const;
  bool has_tensor(const std::string& name) const;
  const std::string& value(const std::string& key, const std::string& source) const;
};

std::vector<uint8_t> serialize(const Container& container);
// Validates magic, version, size, checksum, structure and finiteness. `source` names the file in errors.
Container parse(const std::vector<uint8_t>& bytes, const std::string& source);

// File wrappers: the write is atomic; the read throws ModelFileError for missing or unreadable files.
void write_container(const std::string& path, const Container& container);
Container read_container(const std::string& path);
// Reads the raw bytes of a model file (for hashing), with the same errors as read_container: only regular files
// of at most kMaxModelFileBytes whose preamble records their size, checked before the rest is read.
std::vector<uint8_t> read_file_bytes(const std::string& path);

}  // namespace efficientad::detail
