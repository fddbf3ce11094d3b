#include "teachers/pytorch_state_dict.h"

#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cstring>
#include <tuple>
#include <map>
#include <memory>
#include <sstream>

#include "common/file_read.h"
#include "common/text.h"
#include "efficientad/errors.h"
#include "efficientad/limits.h"

namespace efficientad::detail {

namespace {

struct Value;
// Values are owned by the Unpickler's arena: a pickle may share values (memo) or make a dict contain itself, and
// neither may leak or recurse when the values are freed.
using ValuePtr = Value*;

struct Value {
  enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  int64_t integer = 0;
  double real = 0;
  std::string text;                                   // String; Global: "module.name"
  std::vector<ValuePtr> items;                        // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> entries; // Dict, in insertion order
  at::Tensor tensor;                                  // Storage (1-D), Tensor
  int depth = 0;                                      // nesting below this value
};

// Bounds on what a hostile pickle can make the reader build (a state dict has a few hundred values, depth 3).
constexpr size_t kMaxValues = size_t(1) << 22;
constexpr int kMaxDepth = 64;
constexpr size_t kMaxMemo = size_t(1) << 20;

const std::map<std::string, at::ScalarType> kStorageTypes = {
    {"torch.FloatStorage", at::kFloat}, {"torch.DoubleStorage", at::kDouble}, {"torch.HalfStorage", at::kHalf},
    {"torch.BFloat16Storage", at::kBFloat16}, {"torch.LongStorage", at::kLong}, {"torch.IntStorage", at::kInt},
    {"torch.ByteStorage", at::kByte}, {"torch.BoolStorage", at::kBool},
};

// The pickle virtual machine for the opcodes torch.save emits (protocol 2, and the protocol 4 framing).
class Unpickler {
 public:
  Unpickler(const std::string& path, caffe2::serialize::PyTorchStreamReader& archive, const uint8_t* data, size_t size)
      : path_(path), archive_(archive), data_(data), size_(size) {}

  ValuePtr run() {
    for (;;) {
      if (arena_.size() > kMaxValues) fail("more than " + std::to_string(kMaxValues) + " objects");
      const size_t at = pos_;
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;                     // PROTO
        case 0x95: bytes(8); break;                   // FRAME
        case '.': return pop();                       // STOP
        case '(': marks_.push_back(stack_.size()); break;
        case 'N': stack_.push_back(make(Value::Kind::None)); break;
        case 0x88: case 0x89: push_int(Value::Kind::Bool, op == 0x88); break;
        case 'K': push_int(Value::Kind::Int, byte()); break;
        case 'M': push_int(Value::Kind::Int, little_endian(2)); break;
        case 'J': push_int(Value::Kind::Int, int32_t(little_endian(4))); break;
        case 0x8a: {                                  // LONG1
          const size_t n = byte();
          if (n > 8) fail("integer too large");
          int64_t v = n ? int64_t(little_endian(n) << (64 - 8 * n)) >> (64 - 8 * n) : 0;  // sign-extend
          push_int(Value::Kind::Int, v);
          break;
        }
        case 'G': {                                   // BINFLOAT, big-endian
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = bits << 8 | byte();
          auto v = make(Value::Kind::Float);
          std::memcpy(&v->real, &bits, 8);
          stack_.push_back(v);
          break;
        }
        case 'X': push_string(little_endian(4)); break;
        case 0x8c: push_string(byte()); break;        // SHORT_BINUNICODE
        case 'c': {                                   // GLOBAL "module\nname\n"
          const std::string module = line(), name = line();
          stack_.push_back(global(module + "." + name));
          break;
        }
        case 0x93: {                                  // STACK_GLOBAL
          const ValuePtr name = pop(), module = pop();
          if (module->kind != Value::Kind::String || name->kind != Value::Kind::String) fail("bad STACK_GLOBAL");
          stack_.push_back(global(module->text + "." + name->text));
          break;
        }
        case 'q': memo(byte()); break;                // BINPUT
        case 'r': memo(little_endian(4)); break;      // LONG_BINPUT
        case 0x94: memo(memo_.size()); break;         // MEMOIZE
        case 'h': recall(byte()); break;              // BINGET
        case 'j': recall(little_endian(4)); break;    // LONG_BINGET
        case ')': stack_.push_back(make(Value::Kind::Tuple)); break;
        case ']': stack_.push_back(make(Value::Kind::List)); break;
        case '}': stack_.push_back(make(Value::Kind::Dict)); break;
        case 't': { auto t = make(Value::Kind::Tuple); for (ValuePtr v : pop_to_mark()) add_item(t, v); stack_.push_back(t); break; }
        case 0x85: case 0x86: case 0x87: {            // TUPLE1..3
          auto t = make(Value::Kind::Tuple);
          std::vector<ValuePtr> items(size_t(op - 0x84));
          for (size_t i = items.size(); i-- > 0;) items[i] = pop();
          for (ValuePtr v : items) add_item(t, v);
          stack_.push_back(t);
          break;
        }
        case 'a': { const ValuePtr v = pop(); add_item(container(Value::Kind::List), v); break; }
        case 'e': { auto items = pop_to_mark(); const ValuePtr l = container(Value::Kind::List); for (ValuePtr v : items) add_item(l, v); break; }
        case 's': { const ValuePtr v = pop(), k = pop(); add_entry(container(Value::Kind::Dict), k, v); break; }
        case 'u': {
          const auto items = pop_to_mark();
          if (items.size() % 2) fail("odd SETITEMS");
          const ValuePtr d = container(Value::Kind::Dict);
          for (size_t i = 0; i < items.size(); i += 2) add_entry(d, items[i], items[i + 1]);
          break;
        }
        case 'R': { const ValuePtr args = pop(), callable = pop(); stack_.push_back(call(callable, args)); break; }
        case 'b': pop(); break;                       // BUILD: state of an OrderedDict or tensor, not needed
        case 'Q': stack_.push_back(storage(pop())); break;  // BINPERSID
        default: {
          char text[64];
          std::snprintf(text, sizeof text, "unsupported pickle opcode 0x%02x at byte %zu", op, at);
          fail(text);
        }
      }
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw ModelFileError(path_ + ": cannot read the state dict (" + what + ")");
  }
 private:
  ValuePtr make(Value::Kind kind) {
    arena_.push_back(std::make_unique<Value>());
    arena_.back()->kind = kind;
    return arena_.back().get();
  }
  void deepen(ValuePtr container, ValuePtr item) {
    container->depth = std::max(container->depth, item->depth + 1);
    if (container->depth > kMaxDepth) fail("objects nested more than " + std::to_string(kMaxDepth) + " deep");
  }
  void add_item(ValuePtr container, ValuePtr item) {
    deepen(container, item);
    container->items.push_back(item);
  }
  void add_entry(ValuePtr dict, ValuePtr key, ValuePtr value) {
    deepen(dict, key);
    deepen(dict, value);
    dict->entries.emplace_back(key, value);
  }
  uint8_t byte() {
    if (pos_ >= size_) fail("the pickle ends early");
    return data_[pos_++];
  }
  const uint8_t* bytes(size_t n) {
    if (n > size_ - pos_) fail("the pickle ends early");
    pos_ += n;
    return data_ + pos_ - n;
  }
  uint64_t little_endian(size_t n) {
    const uint8_t* p = bytes(n);
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = v << 8 | p[i];
    return v;
  }
  std::string line() {
    std::string s;
    for (char c; (c = char(byte())) != '\n';) s += c;
    return s;
  }
  void push_int(Value::Kind kind, int64_t v) {
    auto value = make(kind);
    value->integer = v;
    stack_.push_back(value);
  }
  void push_string(size_t n) {
    auto v = make(Value::Kind::String);
    const uint8_t* p = bytes(n);
    v->text.assign(reinterpret_cast<const char*>(p), n);
    stack_.push_back(v);
  }
  ValuePtr pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
    ValuePtr v = stack_.back();
    stack_.pop_back();
    return v;
  }
  std::vector<ValuePtr> pop_to_mark() {
    if (marks_.empty()) fail("missing MARK");
    std::vector<ValuePtr> items(stack_.begin() + std::ptrdiff_t(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  ValuePtr container(Value::Kind kind) {
    if (stack_.empty() || stack_.back()->kind != kind) fail("item added to something that is not a list or dict");
    return stack_.back();
  }
  void memo(size_t index) {
    if (stack_.empty()) fail("stack underflow");
    if (index >= kMaxMemo) fail("memo index too large");
    if (memo_.size() <= index) memo_.resize(index + 1);
    memo_[index] = stack_.back();
  }
  void recall(size_t index) {
    if (index >= memo_.size() || !memo_[index]) fail("unknown memo entry");
    stack_.push_back(memo_[index]);
  }
  ValuePtr global(const std::string& name) {
    static const char* const allowed[] = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                          "torch._utils._rebuild_parameter"};
    if (!kStorageTypes.count(name) && std::find(std::begin(allowed), std::end(allowed), name) == std::end(allowed)) {
      throw ModelFileError(path_ + ": holds a Python object of class '" + printable(name) + "', not a state dict; in PyTorch, "
                           "save model.state_dict() instead of the model");
    }
    auto v = make(Value::Kind::Global);
    v->text = name;
    return v;
  }
  ValuePtr call(const ValuePtr& callable, const ValuePtr& args) {
    if (callable->kind != Value::Kind::Global || args->kind != Value::Kind::Tuple) fail("bad REDUCE");
    const auto& a = args->items;
    if (callable->text == "collections.OrderedDict") return make(Value::Kind::Dict);
    if (callable->text == "torch._utils._rebuild_parameter") {
      if (a.empty() || a[0]->kind != Value::Kind::Tensor) fail("bad parameter");
      return a[0];
    }
    if (callable->text == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(a);
    fail("cannot call " + callable->text);
  }
  std::vector<int64_t> int_tuple(const ValuePtr& v) {
    if (v->kind != Value::Kind::Tuple) fail("tensor size or stride is not a tuple");
    std::vector<int64_t> out;
    for (const auto& item : v->items) {
      if (item->kind != Value::Kind::Int || item->integer < 0) fail("bad tensor size or stride");
      out.push_back(item->integer);
    }
    return out;
  }
  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& a) {  // (storage, offset, size, stride, requires_grad, hooks)
    if (a.size() < 4 || a[0]->kind != Value::Kind::Storage || a[1]->kind != Value::Kind::Int) fail("bad tensor");
    const std::vector<int64_t> sizes = int_tuple(a[2]), strides = int_tuple(a[3]);
    if (sizes.size() != strides.size()) fail("tensor size and stride differ in length");
    const at::Tensor& storage = a[0]->tensor;
    int64_t last = a[1]->integer;  // the furthest element the view reads must lie inside the storage
    bool empty = false;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (sizes[i] == 0) empty = true;
      if (sizes[i] > (int64_t(1) << 40) || strides[i] > (int64_t(1) << 40)) fail("tensor too large");
      last += (sizes[i] - 1) * strides[i];
    }
    uint64_t elements = 1;  // a view with zero strides could expand one stored number into terabytes
    for (int64_t n : sizes) elements = std::min<uint64_t>(elements * uint64_t(n), kMaxTensorElements + 1);
    if (elements > kMaxTensorElements) fail("a tensor with more than " + std::to_string(kMaxTensorElements) + " elements");
    if (!empty && (a[1]->integer < 0 || last >= storage.numel())) fail("a tensor reaches past its storage");
    auto v = make(Value::Kind::Tensor);
    v->tensor = empty ? at::empty(sizes, storage.options()) : storage.as_strided(sizes, strides, a[1]->integer).clone();
    return v;
  }
  ValuePtr storage(const ValuePtr& id) {  // ('storage', storage type, key, location, numel)
    const auto& f = id->items;
    if (id->kind != Value::Kind::Tuple || f.size() != 5 || f[0]->text != "storage" || f[1]->kind != Value::Kind::Global ||
        f[2]->kind != Value::Kind::String || f[4]->kind != Value::Kind::Int) {
      fail("unknown persistent id");
    }
    auto cached = storages_.find(f[2]->text);
    if (cached != storages_.end()) return cached->second;
    const auto type_entry = kStorageTypes.find(f[1]->text);
    if (type_entry == kStorageTypes.end()) fail("unknown storage type " + f[1]->text);
    const at::ScalarType type = type_entry->second;
    const std::string record = "data/" + f[2]->text;
    if (!archive_.hasRecord(record)) fail("storage " + record + " is missing from the archive");
    auto [bytes, size] = archive_.getRecord(record);
    const int64_t numel = f[4]->integer;
    if (numel < 0 || uint64_t(numel) > kMaxTensorElements || size_t(numel) * c10::elementSize(type) != size) {
      fail("storage " + record + " has the wrong size");
    }
    auto v = make(Value::Kind::Storage);
    v->tensor = at::empty({numel}, at::TensorOptions().dtype(type));
    std::memcpy(v->tensor.data_ptr(), bytes.get(), size);
    storages_[f[2]->text] = v;
    return v;
  }

  std::string path_;
  caffe2::serialize::PyTorchStreamReader& archive_;
  const uint8_t* data_;
  size_t size_, pos_ = 0;
  std::vector<ValuePtr> stack_, memo_;
  std::vector<size_t> marks_;
  std::map<std::string, ValuePtr> storages_;
  std::vector<std::unique_ptr<Value>> arena_;
};

// `open` holds the dicts being flattened: a dict inside itself is refused instead of recursing for ever.
void flatten(ValuePtr dict, const std::string& prefix, std::vector<std::pair<std::string, at::Tensor>>& out,
             const std::string& path, std::vector<ValuePtr>& open) {
  if (std::find(open.begin(), open.end(), dict) != open.end()) throw ModelFileError(path + ": a dict contains itself");
  open.push_back(dict);
  for (const auto& [key, value] : dict->entries) {
    if (key->kind != Value::Kind::String) throw ModelFileError(path + ": a state dict key is not a string");
    if (value->kind == Value::Kind::Tensor) out.emplace_back(prefix + key->text, value->tensor);
    if (value->kind == Value::Kind::Dict) flatten(value, prefix + key->text + ".", out, path, open);
  }
  open.pop_back();
}

}  // namespace

std::vector<std::pair<std::string, at::Tensor>> parse_pytorch_state_dict(std::istream& in, const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive;
  at::DataPtr pickle;
  size_t pickle_size = 0;
  try {
    archive = std::make_unique<caffe2::serialize::PyTorchStreamReader>(&in);
    if (!archive->hasRecord("data.pkl")) throw ModelFileError(path + ": a zip archive without data.pkl, not torch.save's");
    std::tie(pickle, pickle_size) = archive->getRecord("data.pkl");
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    throw ModelFileError(path + ": not a readable torch.save archive (" + printable(what.substr(0, what.find('\n')), 200) + ")");
  }
  Unpickler unpickler(path, *archive, static_cast<const uint8_t*>(pickle.get()), pickle_size);
  ValuePtr root;
  try {
    root = unpickler.run();
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    throw ModelFileError(path + ": cannot read the state dict (" + printable(what.substr(0, what.find('\n')), 200) + ")");
  }
  if (root->kind != Value::Kind::Dict) throw ModelFileError(path + ": holds no dict of tensors (not a state dict)");
  std::vector<std::pair<std::string, at::Tensor>> out;
  std::vector<ValuePtr> open;
  flatten(root, "", out, path, open);
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> read_pytorch_state_dict(const std::string& path) {
  const std::vector<uint8_t> bytes = read_untrusted_file<ModelFileError>(path, kMaxImportFileBytes, "PyTorch file");
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  return parse_pytorch_state_dict(in, path);
}

}  // namespace efficientad::detail
