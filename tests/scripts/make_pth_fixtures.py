#!/usr/bin/python3
"""PyTorch teacher files as the reference implementation writes them (torch.save of an nn.Sequential PDN's state
dict), plus the malformed ones users run into, for test_teacher_import. Each good file comes with NAME.bin: every
tensor as float32, in key order, for an independent comparison.

    make_pth_fixtures.py FOLDER
"""
import os
import sys
import zipfile

import torch
from torch import nn


def pdn(variant, out=384):
    if variant == "S":  # paper Table 6, no padding (the layer indices are the reference's state-dict keys)
        return nn.Sequential(nn.Conv2d(3, 128, 4), nn.ReLU(), nn.AvgPool2d(2, 2), nn.Conv2d(128, 256, 4), nn.ReLU(),
                             nn.AvgPool2d(2, 2), nn.Conv2d(256, 256, 3), nn.ReLU(), nn.Conv2d(256, out, 4))
    return nn.Sequential(nn.Conv2d(3, 256, 4), nn.ReLU(), nn.AvgPool2d(2, 2), nn.Conv2d(256, 512, 4), nn.ReLU(),
                         nn.AvgPool2d(2, 2), nn.Conv2d(512, 512, 1), nn.ReLU(), nn.Conv2d(512, 512, 3), nn.ReLU(),
                         nn.Conv2d(512, out, 4), nn.ReLU(), nn.Conv2d(out, out, 1))


def save_good(folder, name, state):
    torch.save(state, os.path.join(folder, name + ".pth"))
    with open(os.path.join(folder, name + ".bin"), "wb") as f:
        for tensor in state.values():
            f.write(tensor.detach().float().contiguous().numpy().tobytes())


def with_pickle(folder, name, source, pickle_bytes):
    """A copy of the torch.save archive `source` whose data.pkl is `pickle_bytes`: what a hostile file can hold."""
    with zipfile.ZipFile(os.path.join(folder, source + ".pth")) as src, \
            zipfile.ZipFile(os.path.join(folder, name + ".pth"), "w", zipfile.ZIP_STORED) as dst:
        for item in src.infolist():
            data = pickle_bytes if item.filename.endswith("/data.pkl") else src.read(item.filename)
            dst.writestr(item.filename, data)


def hostile(folder):
    """Files a hostile probe found crashing or exhausting the reader: each must be refused with a message."""
    depth = 1000000  # tuples nested a million deep: freed recursively, they overflowed the stack
    with_pickle(folder, "deep_nesting", "teacher_small", b"\x80\x02" + b"(" * depth + b")" + b"t" * depth + b".")
    # A dict that contains itself (memo entry 0 set as its own value): flattening it recursed until memory ran out.
    with_pickle(folder, "self_dict", "teacher_small", b"\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.")
    # One stored number viewed through zero strides as 2^40 elements: cloning it would need 4 TB.
    torch.save({"x": torch.zeros(1).expand(1 << 20, 1 << 20)}, os.path.join(folder, "expanded.pth"))
    # Ten thousand opcodes of nothing but MARK: a stack of marks with no values.
    with_pickle(folder, "marks_only", "teacher_small", b"\x80\x02" + b"(" * 10000 + b".")


def main(folder):
    torch.manual_seed(3)
    small, medium = pdn("S"), pdn("M")
    save_good(folder, "teacher_small", small.state_dict())
    save_good(folder, "teacher_medium", medium.state_dict())
    # Also accepted: a DataParallel prefix, half precision.
    save_good(folder, "dataparallel", {"module." + k: v for k, v in small.state_dict().items()})
    save_good(folder, "half", {k: v.half() for k, v in small.state_dict().items()})

    bad = lambda name, obj, **kw: torch.save(obj, os.path.join(folder, name + ".pth"), **kw)
    bad("whole_module", small)
    bad("legacy", small.state_dict(), _use_new_zipfile_serialization=False)
    state = small.state_dict()
    bad("wrong_shape", {**state, "6.weight": torch.zeros(256, 256, 5, 5)})
    bad("missing_bias", {k: v for k, v in state.items() if k != "8.bias"})
    bad("wrong_layer_count", {k: v for k, v in state.items() if not k.startswith("8.")})
    bad("nan", {**state, "3.bias": torch.full((256,), float("nan"))})
    bad("student", pdn("S", 768).state_dict())
    bad("foreign_keys", {"backbone.conv1.weight": torch.zeros(3)})
    with open(os.path.join(folder, "teacher_small.pth"), "rb") as f:
        data = f.read()
    with open(os.path.join(folder, "truncated.pth"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(os.path.join(folder, "not_pytorch.pth"), "wb") as f:
        f.write(b"hello, this is not a model")
    hostile(folder)


if __name__ == "__main__":
    main(sys.argv[1])
