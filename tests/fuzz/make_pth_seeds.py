#!/usr/bin/python3
"""Seeds for fuzz_pytorch: small torch.save archives (first byte < 128: the whole archive) and their pickles
(first byte >= 128: the pickle alone, which the target wraps in an archive of its own).

    make_pth_seeds.py FOLDER
"""
import collections
import io
import os
import sys
import zipfile

import torch


def main(folder):
    os.makedirs(folder, exist_ok=True)
    states = {
        "state_dict": collections.OrderedDict([("0.weight", torch.ones(2, 3, 1, 1)), ("0.bias", torch.zeros(2))]),
        "nested": {"state_dict": {"teacher.0.weight": torch.arange(4.0).view(2, 2)}, "epoch": 3, "name": "x"},
        "half": {"w": torch.ones(3).half(), "v": torch.ones(2, 2).t()},
    }
    for name, state in states.items():
        buffer = io.BytesIO()
        torch.save(state, buffer)
        archive = buffer.getvalue()
        with open(os.path.join(folder, name + ".archive"), "wb") as f:
            f.write(b"\x00" + archive)
        with zipfile.ZipFile(io.BytesIO(archive)) as z:
            pickle = z.read([n for n in z.namelist() if n.endswith("/data.pkl")][0])
        with open(os.path.join(folder, name + ".pickle"), "wb") as f:
            f.write(b"\x80" + pickle)


if __name__ == "__main__":
    main(sys.argv[1])
