"""The peer of bench_vit: the same ViT forward written in plain PyTorch (Debian's python3-torch),
timed the same way. Independent code (timm's structure: pre-LN blocks, explicit softmax
attention), random weights. Prints one JSON object per line.

Usage: python3 vit_peer.py PRESET SIZE BATCH REPEATS
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# (patch, width, depth, heads, stem channels, pos-embed size, ResNetV2 (stem width, depths,
# widths, groups) or None) — as vision/backbones/backbone_registry.cpp
R50 = (64, (3, 4, 9), (256, 512, 1024), 32)
PRESETS = {
    "vit_demo_patch8": (8, 192, 4, 3, [32, 64, 128], 128, None),
    "vit_small_patch16": (16, 384, 12, 6, [], 384, None),
    "deit_small_patch16": (16, 384, 12, 6, [], 224, None),
    "vit_base_patch16": (16, 768, 12, 12, [], 224, None),
    "vit_small_patch8": (8, 384, 12, 6, [], 224, None),
    "vit_base_r50_s16": (16, 768, 12, 12, [], 384, R50),
    "vit_test_patch8": (8, 32, 2, 2, [8, 8, 16], 64, None),
}


def pad_same(x, k, s, value=0.0):
    ih, iw = x.shape[2:]
    ph = max((math.ceil(ih / s) - 1) * s + k - ih, 0)
    pw = max((math.ceil(iw / s) - 1) * s + k - iw, 0)
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2], value=value)


class StdConv(nn.Conv2d):
    """Weight-standardised conv with TF "SAME" padding (the hybrid's StdConv2dSame)."""

    def __init__(self, cin, cout, k, stride=1):
        super().__init__(cin, cout, k, stride, bias=False)

    def forward(self, x):
        var, mean = torch.var_mean(self.weight, dim=[1, 2, 3], keepdim=True, unbiased=False)
        w = (self.weight - mean) / torch.sqrt(var + 1e-8)
        return F.conv2d(pad_same(x, self.kernel_size[0], self.stride[0]), w, stride=self.stride)


class Bottleneck(nn.Module):
    def __init__(self, cin, cout, stride, groups):
        super().__init__()
        mid = cout // 4
        self.down = (nn.Sequential(StdConv(cin, cout, 1, stride), nn.GroupNorm(groups, cout))
                     if cin != cout or stride != 1 else nn.Identity())
        self.body = nn.Sequential(StdConv(cin, mid, 1), nn.GroupNorm(groups, mid), nn.ReLU(),
                                  StdConv(mid, mid, 3, stride), nn.GroupNorm(groups, mid), nn.ReLU(),
                                  StdConv(mid, cout, 1), nn.GroupNorm(groups, cout))

    def forward(self, x):
        return F.relu(self.body(x) + self.down(x))


class ResNetV2(nn.Module):
    def __init__(self, stem, depths, widths, groups):
        super().__init__()
        self.conv, self.norm = StdConv(3, stem, 7, 2), nn.GroupNorm(groups, stem)
        blocks, cin = [], stem
        for i, (d, w) in enumerate(zip(depths, widths)):
            for j in range(d):
                blocks.append(Bottleneck(cin, w, 2 if i > 0 and j == 0 else 1, groups))
                cin = w
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
        x = F.relu(self.norm(self.conv(x)))
        return self.blocks(F.max_pool2d(pad_same(x, 3, 2, float("-inf")), 3, 2))


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


class FloatGroupNorm(nn.GroupNorm):
    """Group norm on float32 input, as the project's stem under autocast to bfloat16 (torch 1.13's
    CPU kernel takes no bfloat16 input beside float32 weights); a no-op cast in float32."""

    def forward(self, x):
        return super().forward(x.float())


class Vit(nn.Module):
    def __init__(self, patch, dim, depth, heads, stem, img, resnet):
        super().__init__()
        layers, c = [], 3
        for ch in stem:
            layers += [nn.Conv2d(c, ch, 3, 2, 1, bias=False), FloatGroupNorm(min(8, ch), ch), nn.ReLU()]
            c = ch
        if resnet:
            layers, c = [ResNetV2(*resnet)], resnet[2][-1]
        self.stem = nn.Sequential(*layers)
        self.proj = nn.Conv2d(c, dim, 1) if stem or resnet else nn.Conv2d(3, dim, patch, patch)
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
