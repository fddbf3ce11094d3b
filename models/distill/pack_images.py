"""Packs an image folder for distill.py on a machine without an image decoder (image_pack.py).
Usage: /usr/bin/python3 pack_images.py IMAGE_FOLDER OUT.pack [SIDE] [QUALITY]   (defaults 384, 90)"""
import os
import sys

import numpy
import torch
from PIL import Image

import image_pack

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    folder, out = sys.argv[1], sys.argv[2]
    side = int(sys.argv[3]) if len(sys.argv) > 3 else 384
    quality = int(sys.argv[4]) if len(sys.argv) > 4 else 90
    if side % 16:
        sys.exit("SIDE must be a multiple of 16")
    names = sorted(f for f in os.listdir(folder) if f.lower().endswith(EXTENSIONS))
    if len(names) < 2:
        sys.exit("need at least 2 images in " + folder)
    encoded, error = [], 0.0
    for name in names:
        image = Image.open(os.path.join(folder, name)).convert("RGB").resize((side, side), Image.BICUBIC)
        rgb = torch.from_numpy(numpy.asarray(image).copy()).permute(2, 0, 1).contiguous()
        data = image_pack.encode(rgb, quality)
        error += float(((image_pack.decode(data) - rgb.float() / 255) ** 2).mean())
        encoded.append(data)
    image_pack.write_pack(out, names, encoded)
    psnr = 10 * numpy.log10(1 / (error / len(names)))
    print(f"{len(names)} images at {side}x{side}, quality {quality}: {os.path.getsize(out) / 1e6:.1f} MB, "
          f"mean PSNR {psnr:.1f} dB after decoding")


if __name__ == "__main__":
    main()
