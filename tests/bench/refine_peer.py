"""The peer of bench_refine: the same cases in plain PyTorch (Debian's python3-torch), timed the
same way. PAR is written as the official AFA code computes it (replicate padding per dilation,
all 48 neighbours stacked, then a weighted sum), which is how people run it from Python.
Prints one JSON object per line.

Usage: python3 refine_peer.py REPEATS
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

SIZE, CLASSES = 512, 21
DILATIONS = [1, 2, 4, 8, 12, 24]
UNIT = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def neighbours(x):
    """[B, C, H, W] → [B, C, 48, H, W], replicate padding per dilation."""
    H, W = x.shape[-2:]
    out = []
    for d in DILATIONS:
        p = F.pad(x, [d] * 4, mode="replicate")
        for dy, dx in UNIT:
            out.append(p[..., d + dy * d:d + dy * d + H, d + dx * d:d + dx * d + W])
    return torch.stack(out, 2)


def par_kernel(img, w1=0.3, w2=0.01):
    nb = neighbours(img)
    std = nb.std(2, keepdim=True)
    aff = (-((nb - img.unsqueeze(2)).abs() / (std + 1e-8) / w1) ** 2).mean(1, keepdim=True)
    dist = torch.tensor([d * (math.sqrt(2) if dy and dx else 1.0) for d in DILATIONS for dy, dx in UNIT])
    pos = torch.softmax(-(dist / (dist.std() + 1e-8) / w1) ** 2, 0).view(1, 1, -1, 1, 1)
    return torch.softmax(aff, 2) + w2 * pos


def par(img, maps, iters=10):
    aff = par_kernel(img)
    for _ in range(iters):
        maps = (neighbours(maps) * aff).sum(2)
    return maps


def rule(maps, ids, threshold):
    v, k = maps.max(0)
    lab = ids[k]
    lab[v <= threshold] = 0
    return lab


def rule_band(maps, ids, lo, hi):
    v, k = maps.max(0)
    lab = ids[k]
    lab[v <= hi] = 255
    lab[v <= lo] = 0
    return lab


def walk(cams, aff, labels, side, radius, power, offset, steps, bg=0.35):
    ys, xs = torch.div(torch.arange(side * side), side, rounding_mode="floor"), torch.arange(side * side) % side
    mask = ((ys[:, None] - ys[None]).abs() <= radius) & ((xs[:, None] - xs[None]).abs() <= radius)
    a = (aff * mask) ** power
    t = a / (a.sum(1, keepdim=True) + offset)
    seeds = torch.cat([torch.full((1, 1, side, side), bg), cams], 1).flatten(2)
    valid = torch.cat([torch.ones(1, 1, dtype=torch.bool), labels > 0], 1)
    x = seeds.masked_fill(~valid.unsqueeze(-1), -math.inf).softmax(1)
    for _ in range(steps):
        x = x @ t
    return x


def report(name, shape, repeats, run):
    run()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(json.dumps({"impl": "python3-torch " + torch.__version__, "case": name, "shape": shape,
                      "median_ms": times[len(times) // 2], "min_ms": times[0]}), flush=True)


def afa_walk(side, radius, power, offset, steps):
    a = torch.rand(1, side * side, side * side)
    a = (a + a.transpose(1, 2)) / 2
    cams = torch.rand(1, 20, side, side)
    labels = torch.zeros(1, 20)
    labels[0, [2, 7, 14]] = 1
    return lambda: walk(cams, a, labels, side, radius, power, offset, steps)


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    torch.manual_seed(0)
    with torch.no_grad():
        img = torch.randint(0, 256, (1, 3, SIZE, SIZE)).float() / 255
        maps = torch.rand(CLASSES, SIZE, SIZE)
        ids = torch.arange(1, CLASSES + 1, dtype=torch.uint8)
        shape = "%dx%dx%d" % (CLASSES, SIZE, SIZE)
        report("rule_threshold", shape, repeats * 4, lambda: rule(maps, ids, 0.45))
        report("rule_band", shape, repeats * 4, lambda: rule_band(maps, ids, 0.35, 0.55))
        report("par_kernel", "3x512x512", repeats, lambda: par_kernel(img))
        report("par_10_iters", shape, 1, lambda: par(img, maps.unsqueeze(0)))  # tens of seconds: once
        report("rw_afa_32", "20x32x32", repeats * 4, afa_walk(32, 8, 2, 0.1, 1))
        report("rw_afa_64", "20x64x64", repeats, afa_walk(64, 8, 2, 0.1, 1))
        report("rw_psa_256_32", "20x32x32", repeats, afa_walk(32, 5, 8, 0.0, 256))


if __name__ == "__main__":
    main()
