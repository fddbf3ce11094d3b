// libFuzzer target: the model-file container and the model/teacher schema on arbitrary bytes. Every input is
// tried twice: as it is (magic, version and size checks) and with its recorded size and CRC-32 made to match, so
// that mutations reach the header and tensor parsers behind the checksum.
#include <cstdint>
#include <cstring>
#include <vector>

#include "efficientad/errors.h"
#include "model/checksum.h"
#include "model/container.h"
#include "model/model_format.h"

namespace {

constexpr size_t kPreamble = 20, kChecksum = 4;

void read_as_model_and_teacher(const std::vector<uint8_t>& bytes) {
  using namespace efficientad::detail;
  try {
    const Container c = parse(bytes, "fuzz.efad");
    try {
      validate_model(c, bytes, "fuzz.efad");
    } catch (const efficientad::ModelFileError&) {
    }
    try {
      validate_teacher(c, "fuzz.efad");
    } catch (const efficientad::ModelFileError&) {
    }
  } catch (const efficientad::ModelFileError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  read_as_model_and_teacher(bytes);
  if (size >= kPreamble + kChecksum) {
    const uint64_t payload = size - kPreamble - kChecksum;
    std::memcpy(bytes.data() + 12, &payload, 8);
    const uint32_t crc = efficientad::detail::crc32(bytes.data(), size - kChecksum);
    std::memcpy(bytes.data() + size - kChecksum, &crc, 4);
    read_as_model_and_teacher(bytes);
  }
  return 0;
}
