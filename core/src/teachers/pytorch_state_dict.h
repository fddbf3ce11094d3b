// Reading PyTorch state dicts (torch.save zip archives) without Python. LibTorch's own unpickler turns the
// OrderedDict of a state dict into None, so this is a small pickle machine for what state dicts contain: dicts,
// tuples, lists, numbers, strings and tensors rebuilt from the archive's storages. Any other Python object (a
// pickled nn.Module, for example) is refused by name.
#pragma once

#include <ATen/ATen.h>

#include <istream>
#include <string>
#include <utility>
#include <vector>

namespace efficientad::detail {

// Entries in file order; nested dicts ("state_dict": {...}) are flattened with "outer.inner" keys.
// Throws ModelFileError naming the file and the problem.
// The file is read whole first (a regular file of at most kMaxImportFileBytes).
std::vector<std::pair<std::string, at::Tensor>> read_pytorch_state_dict(const std::string& path);
// The same from a stream holding the archive; `path` names it in errors (the fuzzing target's entry point).
std::vector<std::pair<std::string, at::Tensor>> parse_pytorch_state_dict(std::istream& in, const std::string& path);

}  // namespace efficientad::detail
