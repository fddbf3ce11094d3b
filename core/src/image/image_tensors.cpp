#include "image/image_tensors.h"

#include <cstring>

#include "model/networks.h"

namespace efficientad::detail {

at::Tensor pack_batch(const std::vector<const uint8_t*>& rgb, int width, int height) {
  const int64_t n = int64_t(rgb.size());
  at::Tensor batch = at::empty({n, height, width, 3}, at::kByte);
  const size_t bytes = size_t(width) * height * 3;
  for (int64_t i = 0; i < n; ++i) std::memcpy(batch[i].data_ptr<uint8_t>(), rgb[size_t(i)], bytes);
  return batch;
}

at::Tensor unit_tensor(const Image& rgb) {
  const uint8_t* pixels = rgb.data();
  return to_unit_float(pack_batch({pixels}, rgb.width(), rgb.height()));
}

}  // namespace efficientad::detail
