// libFuzzer target: the TF.js readers. The JS-literal parser and base64 decoder on the input as text, then the
// layers loader on a folder whose model.json is the input.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include "distillation/js_literal.h"
#include "distillation/tfjs_model.h"
#include "efficientad/errors.h"

namespace {

// A folder with one weight shard of 4 KB (the seeds' manifests read from it); model.json is each input.
std::string folder() {
  static const std::string path = [] {
    char pattern[] = "/tmp/efficientad-fuzz-tfjs-XXXXXX";
    if (!mkdtemp(pattern)) std::abort();
    std::ofstream shard(std::string(pattern) + "/group1-shard1of1", std::ios::binary);
    for (int i = 0; i < 4096; ++i) shard.put(char(i * 37));
    return std::string(pattern);
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace efficientad::detail;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    size_t pos = 0;
    parse_js_literal(text, pos);
  } catch (const std::runtime_error&) {
  }
  try {
    module_exports_literal(text);
  } catch (const std::runtime_error&) {
  }
  try {
    decode_base64(text);
  } catch (const std::runtime_error&) {
  }
  {
    std::ofstream(folder() + "/model.json", std::ios::binary | std::ios::trunc) << text;
  }
  try {
    TfjsLayersModel::load(folder(), "mixed");
  } catch (const efficientad::ModelFileError&) {
  }
  return 0;
}
