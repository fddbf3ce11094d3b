// Reading TF.js layers models: the literal reader, base64, a small hand-made model (both the model.json and the
// npm-bundle form) checked against direct ATen computations, malformed folders, and the real ImageNet
// InceptionV3 of nsfwjs@4.4.0 against the statistics in ../shared/reference/nsfwjs-inceptionv3-notes.md.
#include "check_compat.h"

#include <cstdlib>
#include <cstring>
#include <tuple>
#include <filesystem>
#include <fstream>

#include "distillation/backbone.h"
#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "image/image_ops.h"
#include "image/image_tensors.h"
#include "model/networks.h"
#include "distillation/js_literal.h"
#include "distillation/tfjs_model.h"

#include "test_helpers.h"

using namespace efficientad;
using namespace efficientad::detail;
namespace fs = std::filesystem;

namespace {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string exact(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

std::string read_text(const std::string& path) {
  const std::vector<uint8_t> bytes = test::read_bytes(path);
  return std::string(bytes.begin(), bytes.end());
}

std::string encode_base64(const std::vector<uint8_t>& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t n = uint32_t(bytes[i]) << 16 | (i + 1 < bytes.size() ? uint32_t(bytes[i + 1]) << 8 : 0) |
                       (i + 2 < bytes.size() ? bytes[i + 2] : 0);
    out += table[n >> 18 & 63];
    out += table[n >> 12 & 63];
    out += i + 1 < bytes.size() ? table[n >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? table[n & 63] : '=';
  }
  return out;
}

std::string bundle(const std::string& literal) {  // the shape of nsfwjs's UMD files
  return "!function(a){module.exports=a()}(function(){return function a(n,i,e){}({1:[function(a,n,i){n.exports=" +
         literal + "},{}]},{},[1])(1)});";
}

// A small Keras graph: conv 3x3/2 valid (with bias) -> BN -> relu, then two branches (1x1 conv relu; 3x3 same
// average pool) concatenated. Weights are uint8-quantised except the last conv (float32).
const char* kTopology =
    "{modelTopology:{keras_version:\"2.2.4\",model_config:{class_name:\"Model\",config:{layers:["
    "{name:\"input_1\",class_name:\"InputLayer\",config:{batch_input_shape:[null,null,null,3]},inbound_nodes:[]},"
    "{name:\"conv2d_1\",class_name:\"Conv2D\",config:{filters:4,kernel_size:[3,3],strides:[2,2],padding:\"valid\","
    "dilation_rate:[1,1],use_bias:!0,activation:\"linear\",data_format:\"channels_last\"},"
    "inbound_nodes:[[[\"input_1\",0,0,{}]]]},"
    "{name:\"bn_1\",class_name:\"BatchNormalization\",config:{axis:-1,epsilon:.001,center:!0,scale:!1},"
    "inbound_nodes:[[[\"conv2d_1\",0,0,{}]]]},"
    "{name:\"act_1\",class_name:\"Activation\",config:{activation:\"relu\"},inbound_nodes:[[[\"bn_1\",0,0,{}]]]},"
    "{name:\"conv2d_2\",class_name:\"Conv2D\",config:{filters:2,kernel_size:[1,1],strides:[1,1],padding:\"same\","
    "use_bias:!1,activation:\"relu\"},inbound_nodes:[[[\"act_1\",0,0,{}]]]},"
    "{name:\"pool\",class_name:\"AveragePooling2D\",config:{pool_size:[3,3],strides:[1,1],padding:\"same\"},"
    "inbound_nodes:[[[\"act_1\",0,0,{}]]]},"
    "{name:\"mixed\",class_name:\"Concatenate\",config:{axis:-1},inbound_nodes:[[[\"conv2d_2\",0,0,{}],[\"pool\",0,0,{}]]]},"
    "{name:\"dense_1\",class_name:\"Dense\",config:{units:3},inbound_nodes:[[[\"mixed\",0,0,{}]]]}"
    "]}}},weightsManifest:[{paths:[\"group1-shard1of1\"],weights:[";

struct TinyWeights {
  at::Tensor conv1_hwio, conv1_bias, bn_beta, bn_mean, bn_var, conv2_hwio;
};

// Writes the tiny model into `folder` (bundled: model.min.js + base64 shard; else model.json + binary shard)
// and returns the decoded weights the loader must produce.
TinyWeights write_tiny_model(const std::string& folder, bool bundled, size_t shard_bytes_delta = 0) {
  fs::create_directories(folder);
  std::vector<uint8_t> blob;
  std::string manifest;
  auto quantised = [&](const std::string& name, std::vector<int64_t> shape, double min, double scale) {
    int64_t n = 1;
    std::string dims;
    for (auto d : shape) {
      n *= d;
      dims += (dims.empty() ? "" : ",") + std::to_string(d);
    }
    at::Tensor t = at::empty(shape, at::kFloat);
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t q = uint8_t((i * 37 + name.size() * 11) % 256);
      blob.push_back(q);
      t.view({-1})[i] = float(q * scale + min);
    }
    manifest += std::string(manifest.empty() ? "" : ",") + "{name:\"" + name + "\",shape:[" + dims +
                "],dtype:\"float32\",quantization:{min:" + exact(min) + ",scale:" + exact(scale) +
                ",dtype:\"uint8\"}}";
    return t;
  };
  TinyWeights w;
  w.conv1_hwio = quantised("conv2d_1/kernel", {3, 3, 3, 4}, -0.5, 1.0 / 255);
  w.conv1_bias = quantised("conv2d_1/bias", {4}, -0.1, 0.2 / 255);
  w.bn_beta = quantised("bn_1/beta", {4}, -0.2, 0.4 / 255);
  w.bn_mean = quantised("bn_1/moving_mean", {4}, -0.3, 0.6 / 255);
  w.bn_var = quantised("bn_1/moving_variance", {4}, 0.5, 1.0 / 255);
  w.conv2_hwio = at::linspace(-1, 1, 8).view({1, 1, 4, 2});
  const float* f = w.conv2_hwio.data_ptr<float>();
  const uint8_t* raw = reinterpret_cast<const uint8_t*>(f);
  blob.insert(blob.end(), raw, raw + 8 * sizeof(float));
  manifest += ",{name:\"conv2d_2/kernel\",shape:[1,1,4,2],dtype:\"float32\"}";
  blob.resize(blob.size() - shard_bytes_delta);
  const std::string literal = std::string(kTopology) + manifest + "]}]}";
  if (bundled) {
    write_text(folder + "/model.min.js", bundle(literal));
    write_text(folder + "/group1-shard1of1.min.js", bundle("\"" + encode_base64(blob) + "\""));
  } else {  // the reader takes JSON and its minified form alike, so the same literal serves as model.json
    write_text(folder + "/model.json", literal);
    test::write_bytes(folder + "/group1-shard1of1", blob);
  }
  return w;
}

at::Tensor tiny_reference(const TinyWeights& w, const at::Tensor& x) {
  at::Tensor y = at::conv2d(x, w.conv1_hwio.permute({3, 2, 0, 1}), w.conv1_bias, {2, 2});
  y = (y - w.bn_mean.view({1, -1, 1, 1})) / (w.bn_var.view({1, -1, 1, 1}) + 0.001).sqrt() + w.bn_beta.view({1, -1, 1, 1});
  y = at::relu(y);
  const at::Tensor a = at::relu(at::conv2d(y, w.conv2_hwio.permute({3, 2, 0, 1})));
  const at::Tensor b = at::avg_pool2d(y, {3, 3}, {1, 1}, {1, 1}, false, false);
  return at::cat({a, b}, 1);
}

}  // namespace

START_TEST(reads_minified_literals) {
  const std::string text = "x.exports={a:!0,'b':!1,c:[.5,-.25,1e-3,-2E2],\"d\":\"q\\\"\\n\\u0041\",e:null,f:{g:[]}}";
  const JsValue v = module_exports_literal(text);
  ck_assert(v.at("a").boolean && !v.at("b").boolean);
  ck_assert(v.at("c").list().size() == 4);
  ck_assert(v.at("c").list()[0].num() == 0.5 && v.at("c").list()[1].num() == -0.25);
  ck_assert(v.at("c").list()[2].num() == 1e-3 && v.at("c").list()[3].num() == -200);
  ck_assert_str_eq(v.at("d").str().c_str(), "q\"\nA");
  ck_assert(v.at("e").kind == JsValue::Kind::Null);
  ck_assert(v.at("f").at("g").list().empty());
  ck_assert(decode_base64("TWFu") == std::vector<uint8_t>({'M', 'a', 'n'}));
  ck_assert(decode_base64("TWE=\n") == std::vector<uint8_t>({'M', 'a'}));
}
END_TEST

START_TEST(refuses_malformed_literals_n) {
  for (const char* bad : {"x.exports={a:\"open", "x.exports={a 1}", "x.exports={a:1,,}", "x.exports=[1 2]",
                          "x.exports={:1}", "x.exports={a:}", "module.exports=a()", "x.exports={a:[1,2"}) {
    test::expect_throw<std::runtime_error>([&] { module_exports_literal(bad); }, "");
  }
  test::expect_throw<std::runtime_error>([] { module_exports_literal(std::string(200, '[').insert(0, "x.exports=")); },
                                         "nesting too deep");
  test::expect_throw<std::runtime_error>([] { decode_base64("TW*u"); }, "not base64");
  JsValue v;
  test::expect_throw<std::runtime_error>([&] { v.at("x"); }, "expected an object");
}
END_TEST

START_TEST(runs_a_small_model_exactly) {
  for (bool bundled : {true, false}) {
    const std::string folder = test::temp_folder("tfjs") + "/model";
    const TinyWeights w = write_tiny_model(folder, bundled);
    const TfjsLayersModel model = TfjsLayersModel::load(folder, "mixed");
    ck_assert_int_eq(int(model.layer_count()), 7);  // stops before the unsupported Dense layer
    ck_assert_int_eq(int(model.channels("mixed")), 6);
    const CellGeometry g = model.geometry("mixed");
    ck_assert(g.stride == 2 && g.first_centre == 1);
    const at::Tensor x = at::rand({2, 3, 21, 17});
    const at::Tensor out = model.forward(x, {"mixed"})[0];
    const at::Tensor expected = tiny_reference(w, x);
    ck_assert(out.sizes().equals(expected.sizes()));
    ck_assert_msg(at::allclose(out, expected, 1e-5, 1e-5), "max difference %g",
                  (out - expected).abs().max().item<double>());
  }
}
END_TEST

START_TEST(refuses_broken_models_n) {
  const std::string root = test::temp_folder("tfjs-bad");
  test::expect_throw<ModelFileError>([&] { TfjsLayersModel::load(root + "/missing", "mixed"); }, "not a folder");
  test::expect_throw<ModelFileError>([&] { TfjsLayersModel::load(root, "mixed"); }, "neither model.json nor model.min.js");
  write_tiny_model(root + "/dense", true);
  test::expect_throw<ModelFileError>([&] { TfjsLayersModel::load(root + "/dense", "dense_1"); },
                                     "layer type Dense is not supported");
  test::expect_throw<ModelFileError>([&] { TfjsLayersModel::load(root + "/dense", "mixed9"); }, "no layer named 'mixed9'");
  write_tiny_model(root + "/short", true, 5);
  test::expect_throw<ModelFileError>([&] { TfjsLayersModel::load(root + "/short", "mixed"); }, "truncated");
  write_tiny_model(root + "/noshard", false);
  fs::remove(root + "/noshard/group1-shard1of1");
  test::expect_throw<ModelFileError>([&] { TfjsLayersModel::load(root + "/noshard", "mixed"); }, "is missing");
  write_tiny_model(root + "/long", false);
  std::vector<uint8_t> bytes = test::read_bytes(root + "/long/group1-shard1of1");
  bytes.push_back(0);
  test::write_bytes(root + "/long/group1-shard1of1", bytes);
  test::expect_throw<ModelFileError>([&] { TfjsLayersModel::load(root + "/long", "mixed"); }, "manifest describes");
  write_tiny_model(root + "/b64", true);
  write_text(root + "/b64/group1-shard1of1.min.js", bundle("\"AAAA*AAA\""));
  test::expect_throw<ModelFileError>([&] { TfjsLayersModel::load(root + "/b64", "mixed"); }, "not base64");
  write_tiny_model(root + "/cut", true);
  const std::string topology = read_text(root + "/cut/model.min.js");
  write_text(root + "/cut/model.min.js", topology.substr(0, topology.size() / 2));
  test::expect_throw<ModelFileError>([&] { TfjsLayersModel::load(root + "/cut", "mixed"); }, "TF.js model in");
  // A weight whose shape does not fit its layer.
  write_tiny_model(root + "/shape", true);
  std::string text = read_text(root + "/shape/model.min.js");
  text.replace(text.find("shape:[3,3,3,4]"), 15, "shape:[3,3,4,3]");
  write_text(root + "/shape/model.min.js", text);
  test::expect_throw<ModelFileError>([&] { TfjsLayersModel::load(root + "/shape", "mixed"); }, "conv2d_1/kernel has shape");
  // Found by fuzz_tfjs (tests/fuzz/regressions): sizes that are no whole numbers of a sane range, and an empty
  // weight (a memcpy from nowhere, undefined behaviour) must be refused or read cleanly.
  for (const auto& [from, to, needle] : {std::tuple{"shape:[3,3,3,4]", "shape:[1e300,3,3,4]", "must be a whole number"},
                                         std::tuple{"shape:[3,3,3,4]", "shape:[-3,3,3,4]", "must be a whole number"},
                                         std::tuple{"filters:4", "filters:4.5", "must be a whole number"},
                                         std::tuple{"kernel_size:[3,3]", "kernel_size:[3,1e19]", "must be a whole number"},
                                         std::tuple{"shape:[3,3,3,4]", "shape:[0,3,3,4]", "manifest describes"}}) {
    write_tiny_model(root + "/sizes", true);
    std::string edited = read_text(root + "/sizes/model.min.js");
    edited.replace(edited.find(from), std::strlen(from), to);
    write_text(root + "/sizes/model.min.js", edited);
    test::expect_throw<ModelFileError>([&] { TfjsLayersModel::load(root + "/sizes", "mixed"); }, needle);
  }
  test::expect_throw<InvalidArgument>([] { open_backbone("vgg:/x"); }, "nsfwjs:FOLDER");
  test::expect_throw<InvalidArgument>([] { open_backbone("nsfwjs:"); }, "nsfwjs:FOLDER");
  test::expect_throw<ModelFileError>([&] { open_backbone("nsfwjs:" + root + "/dense"); }, "no layer named 'mixed5'");
}
END_TEST

// The real backbone. Statistics over 200 ImageNet images at 299 from the notes: mixed2 mean 0.290, zero fraction
// 0.657; mixed5 mean 0.185, zero fraction 0.716. 24 images must land close; a wrong preprocessing, channel order,
// BN epsilon or pooling rule moves them by far more (the notes measured 17-69 % rel-L2 for each mistake).
START_TEST(nsfwjs_inception_matches_the_reference_statistics) {
  const char* folder = std::getenv("EFFICIENTAD_NSFWJS_DIR");
  ck_assert_msg(folder && *folder && fs::exists(std::string(folder) + "/model.min.js"),
                "nsfwjs@4.4.0 not found: run models/fetch-nsfwjs.sh and pass -Dnsfwjs_dir (CI: .ci/install-deps)");
  const TfjsLayersModel model = TfjsLayersModel::load(folder, "mixed5");
  ck_assert_int_eq(int(model.channels("mixed2")), 288);
  ck_assert_int_eq(int(model.channels("mixed5")), 768);
  ck_assert(model.geometry("mixed2").stride == 8 && model.geometry("mixed2").first_centre == 13);
  ck_assert(model.geometry("mixed5").stride == 16 && model.geometry("mixed5").first_centre == 21);

  const std::vector<std::string> files =
      list_image_files(test::shared_data_folder() + "/natural_images/imagenet_samples");
  ck_assert(files.size() >= 1000);
  double mean2 = 0, zero2 = 0, mean5 = 0, zero5 = 0;
  const int n = 24;
  for (int i = 0; i < n; ++i) {
    const Image rgb = to_network_input(load_image(files[size_t(i) * 41]).view(), 299, 299);
    const uint8_t* pixels = rgb.data();
    const at::Tensor x = to_unit_float(pack_batch({pixels}, 299, 299)) * 2.0f - 1.0f;
    const std::vector<at::Tensor> out = model.forward(x, {"mixed2", "mixed5"});
    ck_assert(out[0].sizes().equals({1, 288, 35, 35}) && out[1].sizes().equals({1, 768, 17, 17}));
    mean2 += out[0].mean().item<double>() / n;
    zero2 += (out[0] == 0).to(at::kFloat).mean().item<double>() / n;
    mean5 += out[1].mean().item<double>() / n;
    zero5 += (out[1] == 0).to(at::kFloat).mean().item<double>() / n;
  }
  std::printf("mixed2 mean %.4f zero %.4f; mixed5 mean %.4f zero %.4f\n", mean2, zero2, mean5, zero5);
  ck_assert_msg(std::abs(mean2 - 0.290) < 0.03 && std::abs(zero2 - 0.657) < 0.03, "mixed2 %.4f %.4f", mean2, zero2);
  ck_assert_msg(std::abs(mean5 - 0.185) < 0.025 && std::abs(zero5 - 0.716) < 0.03, "mixed5 %.4f %.4f", mean5, zero5);

  // Distillation targets: 384 channels at the 56 x 56 cells of an unpadded teacher on the 256 x 256 image.
  const std::unique_ptr<Backbone> backbone = open_backbone(std::string("nsfwjs:") + folder);
  const Image rgb = to_network_input(load_image(files[7]).view(), 512, 512);
  const uint8_t* pixels = rgb.data();
  const at::Tensor targets = backbone->targets(to_unit_float(pack_batch({pixels}, 512, 512)));
  ck_assert(targets.sizes().equals({1, 384, 56, 56}));
  ck_assert(at::isfinite(targets).all().item<bool>());
  ck_assert(targets.std().item<double>() > 0.05);

  // Other layers and a larger backbone input give targets on the same 56 x 56 cells, and say so.
  const std::unique_ptr<Backbone> early = open_backbone(std::string("nsfwjs:") + folder, {{"mixed1", "mixed2"}, 4});
  ck_assert_int_eq(early->input_side(), 1024);
  ck_assert_msg(early->description().find("mixed1+mixed2 at 1024 px, 3x3 average, 192+192") != std::string::npos, "%s",
                early->description().c_str());
  const Image large = to_network_input(load_image(files[7]).view(), 1024, 1024);
  const uint8_t* large_pixels = large.data();
  const at::Tensor early_targets = early->targets(to_unit_float(pack_batch({large_pixels}, 1024, 1024)));
  ck_assert(early_targets.sizes().equals({1, 384, 56, 56}));
  ck_assert(early_targets.std().item<double>() > 0.05);
  // Their mixed2 half is not v1's mixed2 half: the same image seen at twice the size.
  const double differ = (early_targets.narrow(1, 192, 192) - targets.narrow(1, 0, 192)).abs().mean().item<double>();
  ck_assert_msg(differ > 0.01, "mixed2 at 1024 px equals mixed2 at 512 px (%.4f)", differ);
}
END_TEST

// Layer choices that cannot make 384 targets are refused before any image is read.
START_TEST(refuses_bad_layer_choices_n) {
  const char* folder = std::getenv("EFFICIENTAD_NSFWJS_DIR");
  ck_assert_msg(folder && *folder, "nsfwjs@4.4.0 not found: pass -Dnsfwjs_dir (CI: .ci/install-deps)");
  const std::string spec = std::string("nsfwjs:") + folder;
  auto refused = [&](const BackboneChoice& choice, const char* needle) {
    test::expect_throw<InvalidArgument>([&] { open_backbone(spec, choice); }, needle);
  };
  refused({{"mixed9"}, 2}, "no layer 'mixed9' up to mixed5");
  refused({{"mixed6"}, 2}, "no layer 'mixed6'");  // beyond what the teacher's backbone is cut at
  refused({{"mixed0", "mixed1", "mixed2", "mixed3", "mixed4"}, 2}, "split evenly");
  refused({{"activation_1"}, 2}, "fewer than its share");  // 32 channels for 384 targets
  refused({{"mixed1", "mixed1"}, 2}, "given twice");
  refused({{"mixed2"}, 0}, "backbone scale must be 1 to 4");
  refused({{"mixed2"}, 5}, "backbone scale must be 1 to 4");
}
END_TEST

int main() {
  return test::run_cases("tfjs_model", {
      {"tfjs_model", TESTS(reads_minified_literals, refuses_malformed_literals_n, runs_a_small_model_exactly,
                   refuses_broken_models_n, nsfwjs_inception_matches_the_reference_statistics,
                   refuses_bad_layer_choices_n), 300},
  }, test::Fork::None);
}
