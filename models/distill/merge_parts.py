"""Joins the NAME.partK.pth files that distill.py writes for large teachers into one state dict.
Usage: /usr/bin/python3 merge_parts.py OUT.pth NAME.part1.pth NAME.part2.pth ..."""
import os
import sys

import torch


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    state = {}
    for part in sys.argv[2:]:
        for key, value in torch.load(part, map_location="cpu").items():
            if key in state:
                sys.exit(f"{part}: '{key}' is in two parts")
            state[key] = value
    torch.save(state, sys.argv[1] + ".tmp")
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    print(f"{sys.argv[1]}: {len(state)} tensors from {len(sys.argv) - 2} parts")


if __name__ == "__main__":
    main()
