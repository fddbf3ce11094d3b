// Small string helpers shared by the parsers of names and options.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <string>

namespace efficientad::detail {

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

// Text from a file, safe to put into a message: control and non-ASCII bytes (terminal escapes included) as \xNN,
// cut after `max_length` characters.
inline std::string printable(const std::string& text, size_t max_length = 80) {
  static const char* const hex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < text.size() && out.size() < max_length; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (out.size() >= max_length && text.size() > max_length) out += "...";
  return out;
}

}  // namespace efficientad::detail
