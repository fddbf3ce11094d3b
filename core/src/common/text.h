// Small string helpers shared by the parsers of names and options.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>

namespace efficientad::detail {

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

}  // namespace efficientad::detail
