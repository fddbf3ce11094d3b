// Parsing the JSON the project writes (records, reports) with the core's own reader, for test assertions.
#pragma once

#include <string>

#include "distillation/js_literal.h"

namespace test {

inline efficientad::detail::JsValue parse_json(const std::string& text) {
  size_t pos = 0;
  return efficientad::detail::parse_js_literal(text, pos);
}

}  // namespace test
