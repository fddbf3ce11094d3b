#!/usr/bin/python3
"""Exports a gst-efficientad model file's networks to ONNX for the ONNX Runtime peer benchmark.

The graph does what `efficientad bench` times from host image to host map: uint8 NHWC RGB image in, ImageNet
normalisation, teacher (with its channel statistics), student and autoencoder, the two maps of Algorithm 2, their
quantile normalisation, the border padding and the bilinear resize to the input size; fp32 throughout.
Also writes a test image and PyTorch's map for it, so that the ONNX Runtime run can be checked against it.

usage: export_onnx.py MODEL.efad OUT_DIR   (Debian's /usr/bin/python3 with python3-torch)
"""
import struct
import sys

import torch
import torch.nn.functional as F

MAGIC = b"EFADMODL"


def read_container(path):
    data = open(path, "rb").read()
    if data[:8] != MAGIC:
        sys.exit(f"{path}: not a gst-efficientad model file")
    pos = 8 + 4 + 8  # magic, version, payload size
    (header_size,) = struct.unpack_from("<I", data, pos)
    pos += 4
    header = dict(line.split("=", 1) for line in data[pos:pos + header_size].decode().splitlines() if line)
    pos += header_size
    (count,) = struct.unpack_from("<I", data, pos)
    pos += 4
    tensors = {}
    for _ in range(count):
        (name_length,) = struct.unpack_from("<H", data, pos)
        pos += 2
        name = data[pos:pos + name_length].decode()
        pos += name_length + 1  # + dtype byte (float32)
        rank = data[pos]
        pos += 1
        shape = struct.unpack_from(f"<{rank}q", data, pos)
        pos += 8 * rank
        elements = 1
        for d in shape:
            elements *= d
        tensors[name] = torch.frombuffer(bytearray(data[pos:pos + 4 * elements]), dtype=torch.float32).view(shape)
        pos += 4 * elements
    return header, tensors


# (name, stride, padding, relu, pool) of Tables 6-8, PDN padding off.
PDN = {"S": [("conv1", 1, 0, True, True), ("conv2", 1, 0, True, True), ("conv3", 1, 0, True, False),
             ("conv4", 1, 0, False, False)],
       "M": [("conv1", 1, 0, True, True), ("conv2", 1, 0, True, True), ("conv3", 1, 0, True, False),
             ("conv4", 1, 0, True, False), ("conv5", 1, 0, True, False), ("conv6", 1, 0, False, False)]}
ENCODER = [(f"enc{i}", 2, 1, i < 6, False) for i in range(1, 6)] + [("enc6", 1, 0, False, False)]
DECODER = [(f"dec{i}", 1, 2, True, False) for i in range(1, 7)] + [("dec7", 1, 1, True, False), ("dec8", 1, 1, False, False)]


class Maps(torch.nn.Module):
    def __init__(self, header, t):
        super().__init__()
        self.t, self.h = t, header
        self.variant = header["variant"]
        self.width, self.height = int(header["input_width"]), int(header["input_height"])
        if header["padding"] != "0":
            sys.exit("export_onnx.py: models with PDN padding are not supported")
        self.q = [float(header[k]) for k in ("quantile.st_a", "quantile.st_b", "quantile.ae_a", "quantile.ae_b")]

    def layers(self, x, prefix, specs):
        for name, stride, padding, relu, pool in specs:
            x = F.conv2d(x, self.t[f"{prefix}{name}.weight"], self.t[f"{prefix}{name}.bias"], stride, padding)
            if relu:
                x = F.relu(x)
            if pool:
                x = F.avg_pool2d(x, 2, 2)
        return x

    def autoencoder(self, x, feature_h, feature_w):
        x = self.layers(x, "autoencoder.", ENCODER)
        h, w = self.height, self.width
        sides_h = [h // 64 - 1, h // 32, h // 16 - 1, h // 8, h // 4 - 1, h // 2 - 1, feature_h]
        sides_w = [w // 64 - 1, w // 32, w // 16 - 1, w // 8, w // 4 - 1, w // 2 - 1, feature_w]
        for i, spec in enumerate(DECODER):
            if i < len(sides_h):
                x = F.interpolate(x, size=(sides_h[i], sides_w[i]), mode="bilinear", align_corners=False)
            x = self.layers(x, "autoencoder.", [spec])
        return x

    def forward(self, image_u8_nhwc):
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        x = (image_u8_nhwc.permute(0, 3, 1, 2).float() / 255.0 - mean) / std
        t = self.layers(x, "teacher.", PDN[self.variant])
        t = (t - self.t["teacher_mean"].view(1, -1, 1, 1)) / self.t["teacher_std"].view(1, -1, 1, 1)
        s = self.layers(x, "student.", PDN[self.variant])
        a = self.autoencoder(x, t.shape[2], t.shape[3])
        c = t.shape[1]
        st = ((t - s[:, :c]) ** 2).mean(1, keepdim=True)
        ae = ((a - s[:, c:]) ** 2).mean(1, keepdim=True)
        st_a, st_b, ae_a, ae_b = self.q
        combined = 0.5 * 0.1 * (st - st_a) / (st_b - st_a) + 0.5 * 0.1 * (ae - ae_a) / (ae_b - ae_a)
        border = 4  # ModelGeometry::map_border_cells without padding: the cells the 33 px patches cannot centre on
        padded = F.pad(combined, (border, border, border, border))
        return F.interpolate(padded, size=(self.height, self.width), mode="bilinear", align_corners=False)[:, 0]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    header, tensors = read_container(sys.argv[1])
    if header.get("kind") != "model":
        sys.exit(f"{sys.argv[1]}: not a trained model file")
    model = Maps(header, tensors).eval()
    torch.manual_seed(1)
    image = torch.randint(0, 256, (1, model.height, model.width, 3), dtype=torch.uint8)
    with torch.no_grad():
        expected = model(image)
    out = sys.argv[2]
    torch.onnx.export(model, (image,), f"{out}/maps.onnx", input_names=["image"], output_names=["map"], opset_version=13)
    image.numpy().tofile(f"{out}/image.u8")
    expected.numpy().tofile(f"{out}/expected.f32")
    print(f"{out}/maps.onnx: EfficientAD-{model.variant} {model.width}x{model.height}")


if __name__ == "__main__":
    main()
