// Developer tool: the distillation targets of one image as the C++ distiller computes them, as raw float32
// files, so that models/distill/check_backbone.py can compare the PyTorch rebuild used on GPUs against them.
// Usage: backbone_targets BACKBONE LAYERS SCALE IMAGE OUT_PREFIX
//   writes OUT_PREFIX.input.f32 ([1, 3, S, S] RGB in [0, 1], S = 256 x SCALE) and OUT_PREFIX.targets.f32
//   ([1, 384, 56, 56]).
#include <ATen/ATen.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "args.h"
#include "distillation/backbone.h"
#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "image/image_ops.h"
#include "image/image_tensors.h"

namespace {

void write_raw(const std::string& path, const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(c.data_ptr<float>()), std::streamsize(c.numel() * sizeof(float)));
  if (!out) throw efficientad::IoError("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s BACKBONE LAYERS SCALE IMAGE OUT_PREFIX (e.g. nsfwjs:DIR mixed1,mixed2 4 a.jpg /tmp/a)\n", argv[0]);
    return 2;
  }
  try {
    // Parsed as `efficientad distill --layers ... --backbone-scale ...` parses them.
    const int scale = int(efficientad::cli::parse_int(argv[3], "SCALE", 1, 64));
    const auto backbone = efficientad::detail::open_backbone(argv[1], {efficientad::cli::split_list(argv[2]), scale});
    const efficientad::Image image = efficientad::load_image(argv[4]);
    const int side = backbone->input_side();
    const at::Tensor input = efficientad::detail::unit_tensor(efficientad::detail::to_network_input(image.view(), side, side));
    write_raw(std::string(argv[5]) + ".input.f32", input);
    write_raw(std::string(argv[5]) + ".targets.f32", backbone->targets(input));
    std::printf("%s: input [1, 3, %d, %d], targets written with prefix %s\n", backbone->description().c_str(), side, side, argv[5]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
