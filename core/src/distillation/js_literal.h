// A reader for the JavaScript object literals in which TF.js models are shipped inside npm packages (e.g.
// nsfwjs's model.min.js): JSON plus what minifiers write — unquoted keys, `!0`/`!1` for true/false, numbers like
// `.5` or `-.5`, single-quoted strings. Enough for model topologies and weight manifests, nothing more.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace efficientad::detail {

struct JsValue {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsValue> array;
  std::map<std::string, JsValue> object;

  // Lookups that throw std::runtime_error naming the missing key or the wrong kind.
  const JsValue& at(const std::string& key) const;
  const JsValue* find(const std::string& key) const;  // nullptr when absent or not an object
  const std::string& str() const;
  double num() const;
  const std::vector<JsValue>& list() const;
};

// Parses one literal starting at text[pos] (whitespace skipped); advances pos past it.
// Throws std::runtime_error with the offset of the problem.
JsValue parse_js_literal(const std::string& text, size_t& pos);

// The value a bundled CommonJS module assigns with `<name>.exports=<literal>` (the UMD wrapper's own
// `module.exports=a()` is skipped because a call is not a literal). Throws std::runtime_error when there is none.
JsValue module_exports_literal(const std::string& text);

}  // namespace efficientad::detail
