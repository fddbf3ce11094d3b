// Command-line parsing for the efficientad tool: --name value, --name=value, boolean --flags and positionals.
// Unknown options are errors, so a typo never silently falls back to a default.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "efficientad/errors.h"

namespace efficientad::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // `options` take a value, `flags` do not; both without the leading "--".
  Args(const std::vector<std::string>& argv, const std::set<std::string>& options, const std::set<std::string>& flags);

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> all(const std::string& name) const;  // every value of a repeatable option
  int64_t get_int(const std::string& name, int64_t fallback, int64_t min, int64_t max) const;
  double get_double(const std::string& name, double fallback) const;
  // The value parsed by `parse` (parse_variant, parse_device, ...); a value it refuses is a usage error (exit 2).
  template <typename T>
  T get_parsed(const std::string& name, const std::string& fallback, T (*parse)(const std::string&)) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::multimap<std::string, std::string> values_;
  std::set<std::string> flags_;
  std::vector<std::string> positionals_;
};

// "a,b,c" as its items (empty items dropped); an empty list is a UsageError.
std::vector<std::string> split_list(const std::string& text);

// A whole decimal integer in [min, max]; `what` names it in the UsageError otherwise.
int64_t parse_int(const std::string& text, const std::string& what, int64_t min, int64_t max);

// parse(text); a value it refuses (InvalidArgument) becomes a UsageError naming `option` (exit status 2).
template <typename T>
T usage_checked(const std::string& option, const std::string& text, T (*parse)(const std::string&)) {
  try {
    return parse(text);
  } catch (const InvalidArgument& e) {
    throw UsageError(option + ": " + e.what());
  }
}

template <typename T>
T Args::get_parsed(const std::string& name, const std::string& fallback, T (*parse)(const std::string&)) const {
  return usage_checked("--" + name, get(name, fallback), parse);
}

// "256" -> 256x256, "320x256" -> 320 wide, 256 high.
void parse_size(const std::string& text, int& width, int& height);

}  // namespace efficientad::cli
