"""A small lossy image pack that needs only torch and zlib to read, so that a GPU machine without an image
decoder (no PIL, no torchvision) can read the distillation images: each image squashed to SIDE x SIDE, YCbCr
with chroma at half resolution, 8x8 DCT blocks quantised with the JPEG tables at a quality, int16, zlib."""
import math
import os
import struct
import zlib

import torch

MAGIC = b"EFADPACK"
# JPEG (ITU T.81 Annex K) luminance and chrominance quantisation tables
_LUMA = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
         14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
         49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]
_CHROMA = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
           47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32


def _table(base, quality):
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return torch.tensor([max(1, min(255, (b * scale + 50) // 100)) for b in base], dtype=torch.float32).view(8, 8)


def _dct_matrix(device=None):
    d = torch.zeros(8, 8, dtype=torch.float64)
    for k in range(8):
        for n in range(8):
            d[k, n] = math.cos(math.pi * (n + 0.5) * k / 8) * math.sqrt((1 if k == 0 else 2) / 8)
    return d.float().to(device)


def _blocks(plane):  # [H, W] -> [H/8, W/8, 8, 8]
    h, w = plane.shape
    return plane.reshape(h // 8, 8, w // 8, 8).permute(0, 2, 1, 3)


def _unblocks(blocks):
    a, b = blocks.shape[:2]
    return blocks.permute(0, 2, 1, 3).reshape(a * 8, b * 8)


def _planes(rgb):  # [3, S, S] float 0..255 -> Y [S, S], Cb and Cr [S/2, S/2] (JFIF)
    r, g, b = rgb[0], rgb[1], rgb[2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    half = lambda p: torch.nn.functional.avg_pool2d(p[None, None], 2)[0, 0]
    return [y, half(cb), half(cr)]


def encode(rgb_uint8, quality=90):
    """rgb_uint8: [3, S, S] uint8 tensor, S a multiple of 16. Returns bytes."""
    side = rgb_uint8.shape[1]
    d = _dct_matrix()
    out = [struct.pack("<HH", side, quality)]
    for i, plane in enumerate(_planes(rgb_uint8.float())):
        table = _table(_LUMA if i == 0 else _CHROMA, quality)
        coefficients = d @ (_blocks(plane) - 128) @ d.T
        q = torch.round(coefficients / table).to(torch.int16).permute(2, 3, 0, 1).contiguous()  # frequency-major
        out.append(q.numpy().tobytes())
    raw = b"".join(out)
    # low bytes, then high bytes (mostly 0 or 255): long runs that zlib compresses well
    return zlib.compress(raw[:4] + raw[4::2] + raw[5::2], 9)


def decode(data, device=None):
    """Bytes from encode -> [3, S, S] float32 RGB in [0, 1] on `device`."""
    packed = zlib.decompress(data)
    side, quality = struct.unpack("<HH", packed[:4])
    half = (len(packed) - 4) // 2
    raw = bytearray(len(packed))
    raw[:4], raw[4::2], raw[5::2] = packed[:4], packed[4:4 + half], packed[4 + half:]
    d = _dct_matrix(device)
    planes, offset = [], 4
    for i, s in enumerate((side, side // 2, side // 2)):
        count = s * s
        q = torch.frombuffer(bytearray(raw[offset:offset + 2 * count]), dtype=torch.int16).to(device)
        offset += 2 * count
        table = _table(_LUMA if i == 0 else _CHROMA, quality).to(device)
        blocks = q.float().reshape(8, 8, s // 8, s // 8).permute(2, 3, 0, 1) * table
        planes.append(_unblocks(d.T @ blocks @ d) + 128)
    y = planes[0]
    full = lambda p: torch.nn.functional.interpolate(p[None, None], scale_factor=2, mode="bilinear", align_corners=False)[0, 0]
    cb, cr = full(planes[1]) - 128, full(planes[2]) - 128
    rgb = torch.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb])
    return (rgb / 255).clamp(0, 1)


def write_pack(path, names, encoded):
    """Written to a temporary file, then renamed over `path`: an interrupted run leaves no partial pack."""
    with open(path + ".tmp", "wb") as f:
        f.write(MAGIC + struct.pack("<I", len(encoded)))
        for name, data in zip(names, encoded):
            n = name.encode()
            f.write(struct.pack("<HI", len(n), len(data)) + n + data)
    os.replace(path + ".tmp", path)


def read_pack(path):
    """-> list of (name, encoded bytes)."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:8] != MAGIC:
        raise ValueError(path + ": not an image pack (made by pack_images.py)")
    (count,), offset, items = struct.unpack("<I", blob[8:12]), 12, []
    for _ in range(count):
        if offset + 6 > len(blob):
            raise ValueError(path + ": truncated (holds fewer images than its header says)")
        name_length, size = struct.unpack("<HI", blob[offset:offset + 6])
        offset += 6
        items.append((blob[offset:offset + name_length].decode(), blob[offset + name_length:offset + name_length + size]))
        offset += name_length + size
    if offset != len(blob):
        raise ValueError(path + ": truncated or has trailing bytes (write it again with pack_images.py)")
    return items
