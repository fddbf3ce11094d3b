#include "image/image_header.h"

#include <cstring>

namespace efficientad::detail {

namespace {

uint64_t big_endian(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

uint64_t little_endian(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n; i-- > 0;) v = v << 8 | p[i];
  return v;
}

bool png_size(const std::vector<uint8_t>& f, uint64_t* w, uint64_t* h) {
  static const uint8_t magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (f.size() < 24 || std::memcmp(f.data(), magic, 8) != 0 || std::memcmp(f.data() + 12, "IHDR", 4) != 0) return false;
  *w = big_endian(&f[16], 4);
  *h = big_endian(&f[20], 4);
  return true;
}

// Walks the marker segments to the first start-of-frame (SOF0-SOF15 except DHT, JPG and DAC).
bool jpeg_size(const std::vector<uint8_t>& f, uint64_t* w, uint64_t* h) {
  if (f.size() < 4 || f[0] != 0xFF || f[1] != 0xD8) return false;
  size_t at = 2;
  while (at + 4 <= f.size()) {
    if (f[at] != 0xFF) return false;
    const uint8_t marker = f[at + 1];
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    const size_t length = size_t(big_endian(&f[at + 2], 2));
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (at + 9 > f.size()) return false;
      *h = big_endian(&f[at + 5], 2);
      *w = big_endian(&f[at + 7], 2);
      return true;
    }
    if (length < 2) return false;
    at += 2 + length;
  }
  return false;
}

bool bmp_size(const std::vector<uint8_t>& f, uint64_t* w, uint64_t* h) {
  if (f.size() < 26 || f[0] != 'B' || f[1] != 'M') return false;
  const int32_t width = int32_t(little_endian(&f[18], 4)), height = int32_t(little_endian(&f[22], 4));
  *w = uint64_t(width < 0 ? -int64_t(width) : width);
  *h = uint64_t(height < 0 ? -int64_t(height) : height);  // negative: rows stored top-down
  return true;
}

// The ImageWidth (256) and ImageLength (257) tags of the first image file directory.
bool tiff_size(const std::vector<uint8_t>& f, uint64_t* w, uint64_t* h) {
  if (f.size() < 8) return false;
  const bool le = f[0] == 'I' && f[1] == 'I', be = f[0] == 'M' && f[1] == 'M';
  if (!le && !be) return false;
  auto get = [&](size_t at, int n) { return le ? little_endian(&f[at], n) : big_endian(&f[at], n); };
  if (get(2, 2) != 42) return false;
  const uint64_t ifd = get(4, 4);
  if (ifd + 2 > f.size()) return false;
  const uint64_t entries = get(size_t(ifd), 2);
  bool have_w = false, have_h = false;
  for (uint64_t e = 0; e < entries; ++e) {
    const size_t at = size_t(ifd + 2 + 12 * e);
    if (at + 12 > f.size()) return false;
    const uint64_t tag = get(at, 2), type = get(at + 2, 2);
    const uint64_t value = type == 3 ? get(at + 8, 2) : get(at + 8, 4);  // SHORT or LONG
    if (tag == 256) *w = value, have_w = true;
    if (tag == 257) *h = value, have_h = true;
  }
  return have_w && have_h;
}

}  // namespace

bool declared_image_size(const std::vector<uint8_t>& file, uint64_t* width, uint64_t* height) {
  return png_size(file, width, height) || jpeg_size(file, width, height) || bmp_size(file, width, height) ||
         tiff_size(file, width, height);
}

bool is_truncated_jpeg(const std::vector<uint8_t>& file) {
  if (file.size() < 2 || file[0] != 0xFF || file[1] != 0xD8) return false;
  // Some cameras append bytes after the image: look for the end marker near the end, not only at it.
  const size_t from = file.size() > 4096 ? file.size() - 4096 : 2;
  for (size_t i = file.size() - 1; i > from; --i) {
    if (file[i - 1] == 0xFF && file[i] == 0xD9) return false;
  }
  return true;
}

}  // namespace efficientad::detail
