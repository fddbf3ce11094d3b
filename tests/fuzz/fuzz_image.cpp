// libFuzzer target: image decoding as the engine does it for every file it reads (header checks, then OpenCV's
// PNG/JPEG/BMP/TIFF decoders), with a pixel limit that keeps each input within the fuzzer's memory limit.
#include <cstdint>
#include <vector>

#include "efficientad/errors.h"
#include "image/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    efficientad::detail::decode_image(std::vector<uint8_t>(data, data + size), "fuzz.img", uint64_t(1) << 22);
  } catch (const efficientad::ImageError&) {
  }
  return 0;
}
