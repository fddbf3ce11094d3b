// Reading PyTorch state dicts (torch.save zip archives) without Python. LibTorch's own unpickler turns the
// OrderedDict of a state dict into None, so this is a small pickle machine for what state dicts contain: dicts,
// tuples, lists, numbers, strings and tensors rebuilt from the archive's storages. Any other Python object (a
// pickled nn.Module, for example) is refused by name.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

namespace efficientad::detail {

// Entries in file order; nested dicts ("state_dict": {...}) are flattened with "outer.inner" keys.
// Throws ModelFileError naming the file and the problem.
std::vector<std::pair<std::string, at::Tensor>> read_pytorch_state_dict(const std::string& path);

}  // namespace efficientad::detail
