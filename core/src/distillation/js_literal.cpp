#include "distillation/js_literal.h"

#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace efficientad::detail {

namespace {

[[noreturn]] void fail(const std::string& what, size_t pos) {
  throw std::runtime_error(what + " at offset " + std::to_string(pos));
}

void skip_space(const std::string& s, size_t& pos) {
  while (pos < s.size() && std::isspace(static_cast<unsigned char>(s[pos]))) ++pos;
}

bool is_identifier_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; }

std::string parse_string(const std::string& s, size_t& pos) {
  const char quote = s[pos++];
  std::string out;
  while (pos < s.size() && s[pos] != quote) {
    char c = s[pos++];
    if (c == '\\') {
      if (pos >= s.size()) break;
      c = s[pos++];
      switch (c) {
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'u': {  // names in model files are ASCII; keep other code points as '?'
          if (pos + 4 > s.size()) fail("truncated \\u escape", pos);
          const long code = std::strtol(s.substr(pos, 4).c_str(), nullptr, 16);
          pos += 4;
          c = code < 128 ? char(code) : '?';
          break;
        }
        default: break;  // \" \' \\ \/
      }
    }
    out.push_back(c);
  }
  if (pos >= s.size()) fail("unterminated string", pos);
  ++pos;
  return out;
}

double parse_number(const std::string& s, size_t& pos) {
  const char* begin = s.c_str() + pos;
  char* end = nullptr;
  const double value = std::strtod(begin, &end);
  if (end == begin) fail("expected a value", pos);
  pos += size_t(end - begin);
  return value;
}

JsValue parse_value(const std::string& s, size_t& pos, int depth) {
  if (depth > 64) fail("nesting too deep", pos);
  skip_space(s, pos);
  if (pos >= s.size()) fail("unexpected end of text", pos);
  JsValue v;
  const char c = s[pos];
  if (c == '{' || c == '[') {
    const bool is_object = c == '{';
    v.kind = is_object ? JsValue::Kind::Object : JsValue::Kind::Array;
    const char close = is_object ? '}' : ']';
    ++pos;
    skip_space(s, pos);
    while (pos < s.size() && s[pos] != close) {
      if (is_object) {
        std::string key;
        if (s[pos] == '"' || s[pos] == '\'') {
          key = parse_string(s, pos);
        } else {
          while (pos < s.size() && is_identifier_char(s[pos])) key.push_back(s[pos++]);
          if (key.empty()) fail("expected a key", pos);
        }
        skip_space(s, pos);
        if (pos >= s.size() || s[pos] != ':') fail("expected ':'", pos);
        ++pos;
        v.object[key] = parse_value(s, pos, depth + 1);
      } else {
        v.array.push_back(parse_value(s, pos, depth + 1));
      }
      skip_space(s, pos);
      if (pos < s.size() && s[pos] == ',') {
        ++pos;
        skip_space(s, pos);
      } else if (pos < s.size() && s[pos] != close) {
        fail(std::string("expected ',' or '") + close + "'", pos);
      }
    }
    if (pos >= s.size()) fail("unterminated object or array", pos);
    ++pos;
  } else if (c == '"' || c == '\'') {
    v.kind = JsValue::Kind::String;
    v.string = parse_string(s, pos);
  } else if (c == '!' && pos + 1 < s.size() && (s[pos + 1] == '0' || s[pos + 1] == '1')) {
    v.kind = JsValue::Kind::Bool;
    v.boolean = s[pos + 1] == '0';  // !0 is true
    pos += 2;
  } else if (s.compare(pos, 4, "true") == 0 || s.compare(pos, 5, "false") == 0) {
    v.kind = JsValue::Kind::Bool;
    v.boolean = s[pos] == 't';
    pos += v.boolean ? 4 : 5;
  } else if (s.compare(pos, 4, "null") == 0) {
    pos += 4;
  } else {
    v.kind = JsValue::Kind::Number;
    v.number = parse_number(s, pos);
  }
  return v;
}

const char* kind_name(JsValue::Kind kind) {
  switch (kind) {
    case JsValue::Kind::Null: return "null";
    case JsValue::Kind::Bool: return "a boolean";
    case JsValue::Kind::Number: return "a number";
    case JsValue::Kind::String: return "a string";
    case JsValue::Kind::Array: return "an array";
    case JsValue::Kind::Object: return "an object";
  }
  return "?";
}

void expect(const JsValue& v, JsValue::Kind kind) {
  if (v.kind != kind) throw std::runtime_error(std::string("expected ") + kind_name(kind) + ", found " + kind_name(v.kind));
}

}  // namespace

const JsValue* JsValue::find(const std::string& key) const {
  if (kind != Kind::Object) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &it->second;
}

const JsValue& JsValue::at(const std::string& key) const {
  expect(*this, Kind::Object);
  const JsValue* v = find(key);
  if (!v) throw std::runtime_error("missing key '" + key + "'");
  return *v;
}

const std::string& JsValue::str() const {
  expect(*this, Kind::String);
  return string;
}

double JsValue::num() const {
  expect(*this, Kind::Number);
  return number;
}

const std::vector<JsValue>& JsValue::list() const {
  expect(*this, Kind::Array);
  return array;
}

JsValue parse_js_literal(const std::string& text, size_t& pos) { return parse_value(text, pos, 0); }

JsValue module_exports_literal(const std::string& text) {
  const std::string marker = ".exports=";
  for (size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1)) {
    size_t pos = at + marker.size();
    if (pos < text.size() && (text[pos] == '{' || text[pos] == '"' || text[pos] == '[')) {
      return parse_js_literal(text, pos);
    }
  }
  throw std::runtime_error("no 'exports=' followed by a literal (not a bundled TF.js model file)");
}

}  // namespace efficientad::detail
