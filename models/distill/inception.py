"""nsfwjs@4.4.0's InceptionV3 up to mixed5 in PyTorch, and the distillation targets the C++ distiller computes
(core/src/distillation/backbone.cpp): the same layer semantics as core/src/distillation/tfjs_model.cpp, read
from the export of export_nsfwjs.js. Runs on any torch device; needs only torch and the standard library."""
import json
import os

import torch
import torch.nn.functional as F

TARGET_CHANNELS = 384
PDN_STRIDE, PDN_FIELD = 4, 33  # an unpadded PDN's output cell i covers input pixels 4i .. 4i + 32
TEACHER_SIDE = 256


def _decode(blob, entry):
    count = 1
    for d in entry["shape"]:
        count *= d
    q = torch.frombuffer(bytearray(blob[entry["offset"]:entry["offset"] + count]), dtype=torch.uint8)
    # tfjs decodeWeight: q * scale + min in double, stored as float32
    return (q.double() * entry["scale"] + entry["min"]).float().reshape(entry["shape"])


class Inception(torch.nn.Module):
    """Executes the Keras layer list in its stored (topological) order through each layer's inputs."""

    def __init__(self, export_dir):
        super().__init__()
        with open(os.path.join(export_dir, "backbone.json")) as f:
            spec = json.load(f)
        with open(os.path.join(export_dir, "backbone.u8"), "rb") as f:
            blob = f.read()
        tensors = {w["name"]: _decode(blob, w) for w in spec["weights"]}
        self.layers = spec["layers"]
        self.params = torch.nn.ParameterDict()
        for layer in self.layers:
            name = layer["name"]
            if layer["type"] == "Conv2D":  # Keras HWIO -> OIHW
                kernel = tensors[name + "/kernel"].permute(3, 2, 0, 1).contiguous()
                self.params[name] = torch.nn.Parameter(kernel, requires_grad=False)
            elif layer["type"] == "BatchNormalization":  # no gamma (scale false): fold into scale and shift
                if layer["scale"]:
                    raise ValueError(name + ": batch norm with gamma is not expected in this backbone")
                scale = 1.0 / torch.sqrt(tensors[name + "/moving_variance"] + layer["epsilon"])
                shift = tensors[name + "/beta"] - tensors[name + "/moving_mean"] * scale
                self.params[name + "_scale"] = torch.nn.Parameter(scale, requires_grad=False)
                self.params[name + "_shift"] = torch.nn.Parameter(shift, requires_grad=False)
        self.index = {layer["name"]: i for i, layer in enumerate(self.layers)}
        self.geometry = self._geometry()

    def _geometry(self):
        """Cell k of a layer's output is centred on input pixel first + stride * k (tfjs_model.cpp)."""
        geometry = {}
        for layer in self.layers:
            if layer["type"] == "InputLayer":
                geometry[layer["name"]] = (1.0, 0.0)
                continue
            stride, first = geometry[layer["inputs"][0]]
            if layer["type"] in ("Conv2D", "MaxPooling2D", "AveragePooling2D"):
                k, s = layer["kernel"][0], layer["strides"][0]
                if layer["padding"] == "valid":
                    first += stride * (k - 1) / 2.0
                stride *= s
            geometry[layer["name"]] = (stride, first)
        return geometry

    def forward(self, x, outputs):
        """x: [N, 3, H, W], RGB in [-1, 1]. Returns the named layers' outputs, NCHW."""
        last = max(self.index[o] for o in outputs)
        values = {}
        for layer in self.layers[: last + 1]:
            kind, name = layer["type"], layer["name"]
            inputs = [values[i] for i in layer["inputs"]]
            if kind == "InputLayer":
                y = x
            elif kind == "Conv2D":
                w = self.params[name]
                pad = (w.shape[2] // 2, w.shape[3] // 2) if layer["padding"] == "same" else 0
                y = F.conv2d(inputs[0], w.to(inputs[0].dtype), stride=layer["strides"], padding=pad)
            elif kind == "BatchNormalization":
                s, b = self.params[name + "_scale"], self.params[name + "_shift"]
                y = inputs[0] * s.view(1, -1, 1, 1).to(inputs[0].dtype) + b.view(1, -1, 1, 1).to(inputs[0].dtype)
            elif kind == "Activation":
                if layer["activation"] not in ("relu", "linear"):
                    raise ValueError(name + ": activation " + layer["activation"])
                y = F.relu(inputs[0]) if layer["activation"] == "relu" else inputs[0]
            elif kind == "MaxPooling2D":
                y = F.max_pool2d(inputs[0], layer["kernel"], layer["strides"])
            elif kind == "AveragePooling2D":
                k = layer["kernel"]
                pad = (k[0] // 2, k[1] // 2) if layer["padding"] == "same" else 0
                y = F.avg_pool2d(inputs[0], k, layer["strides"], pad, count_include_pad=False)
            elif kind == "Concatenate":
                y = torch.cat(inputs, 1)
            else:
                raise ValueError(name + ": layer type " + kind + " is not part of InceptionV3 up to mixed5")
            values[name] = y
        return [values[o] for o in outputs]


def _sample_at_teacher_cells(features, geometry, backbone_side):
    """Bilinear samples at the centres of the teacher's output cells on the same image at 256 x 256."""
    stride, first = geometry
    cells = (TEACHER_SIDE - PDN_FIELD) // PDN_STRIDE + 1
    scale = backbone_side / TEACHER_SIDE
    centre = torch.arange(cells, dtype=torch.float64, device=features.device) * PDN_STRIDE + (PDN_FIELD // 2 + 0.5)
    index = (centre * scale - 0.5 - first) / stride

    def normalised(size):
        return (index * (2.0 / max(size - 1, 1)) - 1.0).float()

    ys, xs = normalised(features.shape[2]), normalised(features.shape[3])
    grid = torch.stack([xs.view(1, -1).expand(cells, cells), ys.view(-1, 1).expand(cells, cells)], 2)
    grid = grid.unsqueeze(0).expand(features.shape[0], cells, cells, 2)
    return F.grid_sample(features, grid, mode="bilinear", padding_mode="border", align_corners=True)


def _reduce_channels(x, channels):
    """Averages neighbouring channels down to `channels` (PatchCore's adaptive average pooling)."""
    if x.shape[1] == channels:
        return x
    n, _, h, w = x.shape
    rows = x.permute(0, 2, 3, 1).reshape(-1, 1, x.shape[1])
    return F.adaptive_avg_pool1d(rows, channels).reshape(n, h, w, channels).permute(0, 3, 1, 2)


class Targets(torch.nn.Module):
    """[N, 3, S, S] RGB in [0, 1] at S = 256 x scale -> [N, 384, 56, 56] float32 targets (backbone.cpp)."""

    def __init__(self, export_dir, layers, scale):
        super().__init__()
        if TARGET_CHANNELS % len(layers):
            raise ValueError("the 384 target channels must split evenly between the layers")
        self.net = Inception(export_dir)
        self.layers, self.scale = list(layers), scale

    @property
    def input_side(self):
        return TEACHER_SIDE * self.scale

    @torch.no_grad()
    def forward(self, unit_rgb):
        maps = self.net(unit_rgb * 2.0 - 1.0, self.layers)
        share = TARGET_CHANNELS // len(self.layers)
        parts = []
        for name, m in zip(self.layers, maps):
            m = F.avg_pool2d(m.float(), 3, 1, 1, count_include_pad=False)  # PatchCore's 3x3 neighbourhood
            parts.append(_reduce_channels(_sample_at_teacher_cells(m, self.net.geometry[name], self.input_side), share))
        return torch.cat(parts, 1)
