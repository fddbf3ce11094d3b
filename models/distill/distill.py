"""Teacher distillation (paper Algorithm 3) in PyTorch for a GPU, with the C++ distiller's targets
(inception.py, checked against it by check_backbone.py): a PDN teacher (S or M, unpadded) regresses the
channel-normalised backbone targets of whole 256 x 256 images, MSE, Adam 1e-4 / weight decay 1e-5, batch 16,
grey with p = 0.1, normalisation from 10 000 draws. Where the paper has 1.2 M ImageNet images, this project has
1000, so every draw is a random view (a square crop of 70-100 % of the side, mirrored half the time); the
teacher and the backbone see the same view, each at its own size. 50 images are held out to show overfitting.

Runs for --seconds (or --steps) and writes, atomically, every --checkpoint-seconds: NAME.pth (the teacher as an
nn.Sequential state dict, split into NAME.partK.pth files of at most 14 MB when larger, for file-size limits;
merge_parts.py joins them) and NAME.json (settings, loss curve, throughput). Import the result with
`efficientad import-teacher --output teacher.efad NAME.pth --origin "..."`."""
import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F

import image_pack
from inception import Targets

GREY_PROBABILITY = 0.1
HELD_OUT = 50
LOSS_WINDOW = 50
PART_BYTES = 14 * 1000 * 1000
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def pdn(variant):
    """Paper Tables 6 and 7 without padding, as the nn.Sequential import-teacher reads (keys 0, 3, 6, 8, ...)."""
    relu, pool = torch.nn.ReLU, lambda: torch.nn.AvgPool2d(2, 2)
    conv = torch.nn.Conv2d
    if variant == "S":
        layers = [conv(3, 128, 4), relu(), pool(), conv(128, 256, 4), relu(), pool(), conv(256, 256, 3), relu(),
                  conv(256, 384, 4)]
    else:
        layers = [conv(3, 256, 4), relu(), pool(), conv(256, 512, 4), relu(), pool(), conv(512, 512, 1), relu(),
                  conv(512, 512, 3), relu(), conv(512, 384, 4), relu(), conv(384, 384, 1)]
    return torch.nn.Sequential(*layers)


def grey(x):
    luma = x[:, 0] * 0.2989 + x[:, 1] * 0.587 + x[:, 2] * 0.114
    return luma.unsqueeze(1).expand_as(x)


class Views:
    """Random views of the packed images: the same crop at the backbone's and at the teacher's size."""

    def __init__(self, images, backbone_side, generator):
        self.images, self.backbone_side, self.generator = images, backbone_side, generator

    def draw(self, batch, indices=None, augment=True):
        device = self.images.device
        g = self.generator
        if indices is None:
            indices = torch.randint(0, self.images.shape[0], (batch,), generator=g, device="cpu")
        n = len(indices)
        if augment:
            scale = 0.7 + 0.3 * torch.rand(n, generator=g)
            shift = (torch.rand(n, 2, generator=g) * 2 - 1) * (1 - scale).unsqueeze(1)
            mirror = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
            is_grey = torch.rand(n, generator=g) < GREY_PROBABILITY
        else:
            scale, shift, mirror = torch.ones(n), torch.zeros(n, 2), torch.ones(n)
            is_grey = torch.zeros(n, dtype=torch.bool)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0], theta[:, 1, 1] = scale * mirror, scale
        theta[:, :, 2] = shift
        source = self.images[indices.to(device)].float()
        theta, is_grey = theta.to(device), is_grey.to(device).view(-1, 1, 1, 1)
        out = []
        for side in (self.backbone_side, 256):
            grid = F.affine_grid(theta, (n, 3, side, side), align_corners=False)
            view = F.grid_sample(source, grid, mode="bilinear", padding_mode="border", align_corners=False)
            out.append(torch.where(is_grey, grey(view), view).clamp(0, 1))
        return out  # backbone view, teacher view (RGB in [0, 1])


def save_atomically(obj, path, as_json=False):
    tmp = path + ".tmp"
    if as_json:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1)
    else:
        torch.save(obj, tmp)
    os.replace(tmp, path)


def save_teacher(teacher, out_dir, name):
    state = {k: v.detach().float().cpu().contiguous() for k, v in teacher.state_dict().items()}
    parts, current, size = [], {}, 0
    for key, value in state.items():
        if current and size + value.numel() * 4 > PART_BYTES:
            parts.append(current)
            current, size = {}, 0
        current[key] = value
        size += value.numel() * 4
    parts.append(current)
    names = [name + ".pth"] if len(parts) == 1 else [f"{name}.part{k}.pth" for k in range(1, len(parts) + 1)]
    for file, part in zip(names, parts):
        save_atomically(part, os.path.join(out_dir, file))
    return names


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--export", required=True, help="folder written by export_nsfwjs.js")
    p.add_argument("--images", required=True, help="image pack written by pack_images.py")
    p.add_argument("--layers", default="mixed2,mixed5")
    p.add_argument("--scale", type=int, default=2, help="backbone pixels per teacher pixel")
    p.add_argument("--variant", choices=("S", "M"), default="S")
    p.add_argument("--seconds", type=float, default=600, help="training time limit")
    p.add_argument("--steps", type=int, default=60000, help="step limit (the paper: 60 000)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--draws", type=int, default=10000, help="normalisation draws")
    p.add_argument("--checkpoint-seconds", type=float, default=60)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--init", default="", help="start from this teacher state dict (a previous run's NAME.pth)")
    p.add_argument("--out", required=True)
    p.add_argument("--name", required=True)
    a = p.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(a.seed)
    generator = torch.Generator().manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    start = time.time()

    items = image_pack.read_pack(a.images)
    if len(items) <= HELD_OUT + 1:
        raise SystemExit(f"need more than {HELD_OUT + 1} images, the pack holds {len(items)}")
    images = torch.stack([image_pack.decode(data, device).half() for _, data in items])
    train_images, held_images = images[HELD_OUT:], images[:HELD_OUT]
    targets = Targets(a.export, a.layers.split(","), a.scale).to(device).eval()
    views = Views(train_images, targets.input_side, generator)
    mean_rgb, std_rgb = MEAN.to(device), STD.to(device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16)

    def target_of(view):
        with autocast:
            return targets(view).float()

    # Algorithm 3, lines 2-12: per-channel statistics of the targets over random draws.
    total, square, count = 0, 0, 0
    for _ in range(math.ceil(a.draws / a.batch)):
        t = target_of(views.draw(a.batch)[0]).double()
        total = total + t.sum((0, 2, 3))
        square = square + (t * t).sum((0, 2, 3))
        count += t.shape[0] * t.shape[2] * t.shape[3]
    channel_mean = (total / count).float().view(1, -1, 1, 1)
    channel_std = (square / count - (total / count) ** 2).clamp_min(1e-12).sqrt().float().view(1, -1, 1, 1)

    held_views = Views(held_images, targets.input_side, generator)
    held = held_views.draw(HELD_OUT, indices=torch.arange(HELD_OUT), augment=False)
    held_target = (torch.cat([target_of(v) for v in held[0].split(a.batch)]) - channel_mean) / channel_std
    held_input = ((held[1] - mean_rgb) / std_rgb).contiguous(memory_format=torch.channels_last)

    teacher = pdn(a.variant)
    if a.init:  # continuing an earlier run: its weights, a fresh optimiser
        teacher.load_state_dict(torch.load(a.init, map_location="cpu"))
    teacher = teacher.to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(teacher.parameters(), lr=1e-4, weight_decay=1e-5)
    log = {"settings": vars(a), "device": str(torch.cuda.get_device_name() if device.type == "cuda" else "cpu"),
           "torch": torch.__version__, "train_images": len(items) - HELD_OUT, "held_out_images": HELD_OUT,
           "statistics_seconds": round(time.time() - start, 1), "curve": []}
    recent = []
    step, last_save, train_start = 0, time.time(), time.time()

    def held_out_loss():
        teacher.eval()
        with torch.no_grad(), autocast:
            out = teacher(held_input).float()
        teacher.train()
        return float(((out - held_target) ** 2).mean())

    def checkpoint():
        log["steps"] = step
        log["train_seconds"] = round(time.time() - train_start, 1)
        log["images_per_second"] = round(step * a.batch / max(time.time() - train_start, 1e-9), 1)
        log["files"] = save_teacher(teacher, a.out, a.name)
        save_atomically(log, os.path.join(a.out, a.name + ".json"), as_json=True)

    while step < a.steps and time.time() - train_start < a.seconds:
        backbone_view, teacher_view = views.draw(a.batch)
        target = (target_of(backbone_view) - channel_mean) / channel_std
        x = ((teacher_view - mean_rgb) / std_rgb).contiguous(memory_format=torch.channels_last)
        with autocast:
            out = teacher(x)
        loss = ((out.float() - target) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        recent.append(loss.detach())
        if step % 250 == 0 or step == 1:
            window = recent[-LOSS_WINDOW:]
            log["curve"].append({"step": step, "loss": round(float(torch.stack(window).mean()), 4),
                                 "held_out": round(held_out_loss(), 4), "seconds": round(time.time() - train_start, 1)})
            recent = recent[-LOSS_WINDOW:]
            print(a.name, log["curve"][-1], flush=True)
        if time.time() - last_save > a.checkpoint_seconds:
            checkpoint()
            last_save = time.time()
    log["final_held_out"] = round(held_out_loss(), 4)
    log["final_loss"] = round(float(torch.stack(recent[-LOSS_WINDOW:]).mean()), 4) if recent else None
    checkpoint()
    print(a.name, "done:", step, "steps,", log["final_loss"], "train loss,", log["final_held_out"], "held out", flush=True)


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError) as e:  # unreadable inputs: a message, not a traceback
        raise SystemExit("error: " + str(e))
