// libFuzzer target: the PyTorch state-dict reader (zip archive + pickle machine). The first byte chooses what the
// rest is: 0-127 a whole torch.save archive (the zip reader), 128-255 the pickle of an archive built here around
// it, with valid CRCs and one float storage "0", so that mutations reach the unpickler itself.
#include <caffe2/serialize/inline_container.h>

#include <cstdint>
#include <sstream>
#include <string>

#include "efficientad/errors.h"
#include "teachers/pytorch_state_dict.h"

namespace {

std::string archive_around(const uint8_t* pickle, size_t size) {
  std::string archive;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t n) {
      archive.append(static_cast<const char*>(data), n);
      return n;
    });
    const float storage[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    writer.writeRecord("data.pkl", pickle, size);
    writer.writeRecord("data/0", storage, sizeof storage);
    writer.writeEndOfFile();
  }
  return archive;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool pickle_only = data[0] >= 128;
  std::istringstream in(pickle_only ? archive_around(data + 1, size - 1)
                                    : std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  try {
    efficientad::detail::parse_pytorch_state_dict(in, "fuzz.pth");
  } catch (const efficientad::ModelFileError&) {
  }
  return 0;
}
