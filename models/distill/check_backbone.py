"""Checks the PyTorch rebuild (inception.py) against the C++ distiller's targets on the same input, written by
build/tests/backbone_targets. Usage: /usr/bin/python3 check_backbone.py EXPORT_DIR LAYERS SCALE PREFIX
Exits 1 when the relative L2 difference exceeds 1e-4."""
import sys

import torch

from inception import Targets


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    export_dir, layers, scale, prefix = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), sys.argv[4]
    targets = Targets(export_dir, layers, scale)
    side = targets.input_side
    x = torch.from_file(prefix + ".input.f32", size=3 * side * side).view(1, 3, side, side)
    expected = torch.from_file(prefix + ".targets.f32", size=384 * 56 * 56).view(1, 384, 56, 56)
    got = targets(x)
    relative = float((got - expected).norm() / expected.norm())
    print(f"{'+'.join(layers)} at {side} px: relative L2 difference {relative:.2e}, "
          f"max |diff| {float((got - expected).abs().max()):.2e}")
    sys.exit(0 if relative < 1e-4 else 1)


if __name__ == "__main__":
    main()
