"""The peer of bench_vit: the same ViT forward written in plain PyTorch (Debian's python3-torch),
timed the same way. Independent code (timm's structure: pre-LN blocks, explicit softmax
attention), random weights. Prints one JSON object per line.

Usage: python3 vit_peer.py PRESET SIZE BATCH REPEATS
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# (patch, width, depth, heads, stem channels, pos-embed size) — as vision/backbones/backbone_registry.cpp
PRESETS = {
    "vit_demo_patch8": (8, 192, 4, 3, [32, 64, 128], 128),
    "vit_small_patch16": (16, 384, 12, 6, [], 224),
    "vit_base_patch16": (16, 768, 12, 12, [], 224),
    "vit_small_patch8": (8, 384, 12, 6, [], 224),
    "vit_test_patch8": (8, 32, 2, 2, [8, 8, 16], 64),
}


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x, keep):
        B, T, D = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q * (D // self.heads) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        if keep is not None:
            keep.append(attn)
        x = x + self.proj((attn @ v).transpose(1, 2).reshape(B, T, D))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class Vit(nn.Module):
    def __init__(self, patch, dim, depth, heads, stem, img):
        super().__init__()
        layers, c = [], 3
        for ch in stem:
            layers += [nn.Conv2d(c, ch, 3, 2, 1, bias=False), nn.GroupNorm(min(8, ch), ch), nn.ReLU()]
            c = ch
        self.stem = nn.Sequential(*layers)
        self.proj = nn.Conv2d(c, dim, 1) if stem else nn.Conv2d(3, dim, patch, patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, 1 + (img // patch) ** 2, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x, capture):
        g = self.proj(self.stem(x))
        h, w = g.shape[2:]
        t = torch.cat([self.cls.expand(x.shape[0], -1, -1), g.flatten(2).transpose(1, 2)], 1)
        side = int((self.pos.shape[1] - 1) ** 0.5)
        grid = self.pos[:, 1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False) if (h, w) != (side, side) else grid
        t = t + torch.cat([self.pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, h * w, -1)], 1)
        keep = [] if capture else None
        for b in self.blocks:
            t = b(t, keep)
        return self.norm(t), keep


def main():
    preset, size, batch, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.manual_seed(0)
    model = Vit(*PRESETS[preset]).eval()
    x = torch.randn(batch, 3, size, size)
    with torch.no_grad():
        for capture in (False, True):
            model(x, capture)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                model(x, capture)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            print(json.dumps({"impl": "python3-torch " + torch.__version__, "preset": preset, "size": size,
                              "batch": batch, "capture": capture, "median_ms": times[len(times) // 2],
                              "min_ms": times[0]}), flush=True)


if __name__ == "__main__":
    main()
