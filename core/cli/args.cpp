#include "args.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace efficientad::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& options,
           const std::set<std::string>& flags) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      positionals_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (flags.count(name)) {
      if (inline_value) throw UsageError("--" + name + " takes no value");
      flags_.insert(name);
    } else if (options.count(name)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) throw UsageError("--" + name + " needs a value");
        value = argv[++i];
      }
      values_.emplace(name, value);
    } else {
      throw UsageError("unknown option --" + name);
    }
  }
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  if (values_.count(name) > 1) throw UsageError("--" + name + " given more than once");
  return it->second;
}

std::vector<std::string> Args::all(const std::string& name) const {
  std::vector<std::string> out;
  auto range = values_.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) items.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  if (items.empty()) throw UsageError("empty list '" + text + "'");
  return items;
}

int64_t parse_int(const std::string& text, const std::string& what, int64_t min, int64_t max) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) throw UsageError(what + " expects an integer, got '" + text + "'");
  if (v < min || v > max) {
    throw UsageError(what + " must lie in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + text);
  }
  return v;
}

int64_t Args::get_int(const std::string& name, int64_t fallback, int64_t min, int64_t max) const {
  return has(name) ? parse_int(get(name), "--" + name, min, max) : fallback;
}

double Args::get_double(const std::string& name, double fallback) const {
  if (!has(name)) return fallback;
  const std::string text = get(name);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v)) throw UsageError("--" + name + " expects a number, got '" + text + "'");
  return v;
}

void parse_size(const std::string& text, int& width, int& height) {
  const size_t x = text.find('x');
  char* end = nullptr;
  const long w = std::strtol(text.c_str(), &end, 10);
  if (x == std::string::npos) {
    if (*end != '\0' || w <= 0) throw UsageError("size '" + text + "' is not a number like 256 or 320x256");
    width = height = int(w);
    return;
  }
  if (end != text.c_str() + x) throw UsageError("size '" + text + "' is not like 320x256");
  const long h = std::strtol(text.c_str() + x + 1, &end, 10);
  if (*end != '\0' || w <= 0 || h <= 0) throw UsageError("size '" + text + "' is not like 320x256");
  width = int(w);
  height = int(h);
}

}  // namespace efficientad::cli
