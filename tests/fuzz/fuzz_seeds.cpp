// Writes the seed corpora of the fuzzing targets: small valid files of each kind, made by the project's own code
// (tests/fuzz/run.sh adds PyTorch archives made by Debian's python3-torch).
//   fuzz_seeds FOLDER   -> FOLDER/{model_file,image,tfjs,element}/...
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "efficientad/image_io.h"
#include "fixtures.h"
#include "model/container.h"
#include "model/model_format.h"

namespace fs = std::filesystem;
using namespace efficientad;

namespace {

void write(const fs::path& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

void container_seeds(const fs::path& folder) {
  detail::Container model;
  ModelInfo info;
  info.quantiles = {0.1f, 0.5f, 0.01f, 0.05f};
  info.threshold = 0.3f;
  info.provenance.teacher_origin = "random (seed 1)";
  detail::write_model_header(info, model);
  model.tensors.push_back({"teacher.0.weight", {2, 3}, {1, 2, 3, 4, 5, 6}});
  detail::write_container((folder / "model.efad").string(), model);
  detail::Container teacher;
  teacher.header["kind"] = "teacher";
  teacher.header["variant"] = "S";
  teacher.header["origin"] = "seed";
  teacher.tensors.push_back({"teacher.0.weight", {1, 1, 1, 1}, {0.5f}});
  detail::write_container((folder / "teacher.efad").string(), teacher);
}

void image_seeds(const fs::path& folder) {
  const Image rgb = test::textured_image(16, 12, 1);
  cv::Mat bgr(rgb.height(), rgb.width(), CV_8UC3, const_cast<uint8_t*>(rgb.data()));
  cv::Mat grey16(12, 16, CV_16UC1, cv::Scalar(40000));
  for (const auto& [name, mat] : {std::pair{"rgb.png", bgr}, std::pair{"grey16.png", grey16}, std::pair{"rgb.jpg", bgr},
                                  std::pair{"rgb.bmp", bgr}, std::pair{"rgb.tif", bgr}, std::pair{"grey16.tif", grey16}}) {
    std::vector<uchar> bytes;
    cv::imencode(fs::path(name).extension().string(), mat, bytes);
    write(folder / name, std::string(bytes.begin(), bytes.end()));
  }
}

void tfjs_seeds(const fs::path& folder) {
  write(folder / "model.json",
        "{\"modelTopology\":{\"model_config\":{\"class_name\":\"Model\",\"config\":{\"layers\":["
        "{\"name\":\"input_1\",\"class_name\":\"InputLayer\",\"config\":{\"batch_input_shape\":[null,null,null,3]},"
        "\"inbound_nodes\":[]},"
        "{\"name\":\"conv\",\"class_name\":\"Conv2D\",\"config\":{\"filters\":2,\"kernel_size\":[1,1],\"strides\":[1,1],"
        "\"padding\":\"valid\",\"use_bias\":false,\"activation\":\"relu\"},\"inbound_nodes\":[[[\"input_1\",0,0,{}]]]},"
        "{\"name\":\"bn\",\"class_name\":\"BatchNormalization\",\"config\":{\"axis\":-1,\"epsilon\":0.001,\"center\":true,"
        "\"scale\":false},\"inbound_nodes\":[[[\"conv\",0,0,{}]]]},"
        "{\"name\":\"mixed\",\"class_name\":\"Concatenate\",\"config\":{\"axis\":-1},"
        "\"inbound_nodes\":[[[\"conv\",0,0,{}],[\"bn\",0,0,{}]]]}]}}},"
        "\"weightsManifest\":[{\"paths\":[\"group1-shard1of1\"],\"weights\":["
        "{\"name\":\"conv/kernel\",\"shape\":[1,1,3,2],\"dtype\":\"float32\"},"
        "{\"name\":\"bn/moving_mean\",\"shape\":[2],\"dtype\":\"float32\"},"
        "{\"name\":\"bn/moving_variance\",\"shape\":[2],\"dtype\":\"float32\"},"
        "{\"name\":\"bn/beta\",\"shape\":[2],\"dtype\":\"float32\","
        "\"quantization\":{\"dtype\":\"uint8\",\"min\":-1,\"scale\":0.01}}]}]}");
  write(folder / "bundle.js", "!function(a){module.exports=a()}(function(){return{1:[function(a,n,i){n.exports="
                              "{a:[1,.5,-.5,!0,!1,'x'],b:{c:null}}},{}]}});");
}

// [format, width low, width high, height low, height high, roi length, roi..., pixels...] (fuzz_element.cpp).
void element_seeds(const fs::path& folder) {
  const struct {
    const char* name;
    uint8_t format, width, height;
    std::string roi;
    size_t pixels;
  } seeds[] = {{"rgb16", 0, 15, 15, "", 16 * 16 * 3}, {"nv12", 8, 31, 31, "2,2,20,20", 32 * 32 * 3 / 2},
               {"grey", 10, 7, 7, "1,1,4,4", 64}, {"short", 3, 63, 63, "", 100}};
  for (const auto& s : seeds) {
    std::string bytes = {char(s.format), char(s.width), 0, char(s.height), 0, char(s.roi.size())};
    bytes += s.roi;
    for (size_t i = 0; i < s.pixels; ++i) bytes += char(i * 7);
    write(folder / s.name, bytes);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FOLDER\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  for (const char* kind : {"model_file", "image", "tfjs", "element"}) fs::create_directories(root / kind);
  container_seeds(root / "model_file");
  image_seeds(root / "image");
  tfjs_seeds(root / "tfjs");
  element_seeds(root / "element");
  return 0;
}
