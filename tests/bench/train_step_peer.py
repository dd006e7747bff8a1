"""The peer of bench_train_step: one training step of cam, afa and acr on the demo ViT (patch 8,
width 192, depth 4, 3 heads, conv stem; vit_peer.py's model) written with plain python3-torch
ops, timed the same way (forward, losses, every loss read back, zero_grad, backward, optimiser
step; two warm-up steps; median of REPEATS). Random weights, random images, random multi-hot
labels. Prints one JSON object per method.

What each step holds, beside the C++ one (training/methods/*):
  cam  the same step: 1×1 classifier without bias on the patch features, GAP, multilabel soft
       margin; AdamW, backbone and heads at lr and lr/10.
  acr  the same step: both views (hflip) as one batch with every block's attention, the class
       token's linear head on the pre-norm tokens, head-mean attention, activation and affinity
       consistency over the flip's token permutation; SGD with momentum, as its recipe.
  afa  its network and losses with the official step's multi-scale CAM passes, but simpler
       pseudo labels: the forward with the last two blocks' attention logits, the affinity head
       (symmetrised, standardised, 1×1 conv, sigmoid), GMP classification, the conv seg head, the
       six no-grad CAM passes (scales 1, 0.5, 1.5, each with its flip), the balanced seg loss and
       the affinity loss; the labels come from thresholding the CAMs (bg_high / bg_low) instead
       of wsss's PAR refinement and random walk, which this peer leaves out (so it does less
       work than wsss's afa step).

Usage: python3 train_step_peer.py METHOD[,METHOD...] REPEATS [BATCH [SIZE]]
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vit_peer import PRESETS, Vit  # noqa: E402

CLASSES = 20
TOTAL_STEPS, TIMED_STEP = 100, 40  # afa after its seg switch, as bench_train_step


def run_blocks(vit, x, logits_from=None, want_attention=False):
    """vit_peer's forward, keeping what the methods read: pre-norm tokens, the attention
    probabilities of every block (acr) or the raw q·kᵀ logits of blocks >= logits_from (afa)."""
    g = vit.proj(vit.stem(x))
    B, _, h, w = g.shape
    t = torch.cat([vit.cls.expand(B, -1, -1), g.flatten(2).transpose(1, 2)], 1)
    side = int((vit.pos.shape[1] - 1) ** 0.5)
    grid = vit.pos[:, 1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
    if (h, w) != (side, side):
        grid = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False)
    t = t + torch.cat([vit.pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, h * w, -1)], 1)
    attention, logits = [], []
    for i, b in enumerate(vit.blocks):
        T, D = t.shape[1], t.shape[2]
        qkv = b.qkv(b.norm1(t)).reshape(B, T, 3, b.heads, D // b.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        raw = q @ k.transpose(-2, -1)
        attn = (raw * (D // b.heads) ** -0.5).softmax(-1)
        if want_attention:
            attention.append(attn)
        if logits_from is not None and i >= logits_from:
            logits.append(raw)
        t = t + b.proj((attn @ v).transpose(1, 2).reshape(B, T, D))
        t = t + b.fc2(F.gelu(b.fc1(b.norm2(t))))
    return t, vit.norm(t), (h, w), attention, logits


def patch_features(tokens, hw):
    return tokens[:, 1:].transpose(1, 2).reshape(tokens.shape[0], -1, *hw)


def param_groups(backbone, heads, lr, decay):
    """Backbone at lr/10, heads at lr; no decay on biases, norms and tokens (Method::parameterGroups)."""
    groups = []
    for params, scale in ((list(backbone.parameters()), 0.1), (heads, 1.0)):
        groups.append({"params": [p for p in params if p.dim() > 1], "lr": lr * scale, "weight_decay": decay})
        groups.append({"params": [p for p in params if p.dim() <= 1], "lr": lr * scale, "weight_decay": 0.0})
    return [g for g in groups if g["params"]]


class Cam(nn.Module):
    def __init__(self, vit):
        super().__init__()
        self.vit = vit
        self.classifier = nn.Conv2d(192, CLASSES, 1, bias=False)

    def optimizer(self):
        return torch.optim.AdamW(param_groups(self.vit, list(self.classifier.parameters()), 1e-3, 0.01), lr=1e-3)

    def step(self, images, labels):
        _, tokens, hw, _, _ = run_blocks(self.vit, images)
        cams = self.classifier(patch_features(tokens, hw))
        return {"cls": F.binary_cross_entropy_with_logits(cams.mean((2, 3)), labels)}


class Acr(nn.Module):
    def __init__(self, vit):
        super().__init__()
        self.vit = vit
        self.head = nn.Linear(192, CLASSES)

    def optimizer(self):
        # AcrConfig's "official" recipe: SGD lr 0.05, momentum 5e-4, no decay, two groups.
        return torch.optim.SGD([{"params": self.vit.parameters()}, {"params": self.head.parameters()}],
                               lr=0.05, momentum=5e-4, weight_decay=0.0)

    def step(self, images, labels):
        B = images.shape[0]
        pre, _, (h, w), attention, _ = run_blocks(self.vit, torch.cat([images, images.flip(3)]), want_attention=True)
        z = self.head(pre[:, 0])
        stacked = torch.stack([a.mean(1) for a in attention], 1)  # [2B, L, T, T]
        attn, view = stacked[:B], stacked[B:]
        # hflip's permutation: the view's patch (r, c) is the original's (r, w-1-c).
        pi = torch.arange(h * w).reshape(h, w).flip(1).reshape(-1)
        index = pi + 1
        act = (attn[:, :, 0, 1:] - view[:, :, 0].index_select(-1, index)).abs().mean()
        aff = (attn[:, :, 1:, 1:] - view.index_select(2, index).index_select(3, index)).abs().mean()
        losses = {"cls": F.binary_cross_entropy_with_logits(z[:B], labels) +
                  F.binary_cross_entropy_with_logits(z[B:], labels),
                  "act": 125 * act, "aff": 125 * aff}
        act.item(), aff.item()  # its logs
        return losses


class Afa(nn.Module):
    def __init__(self, vit):
        super().__init__()
        self.vit = vit
        self.classifier = nn.Conv2d(192, CLASSES, 1, bias=False)
        self.aff_proj = nn.Conv2d(2 * 3, 1, 1)
        self.seg = nn.Sequential(nn.Dropout2d(0.1), nn.Conv2d(192, 256, 1, bias=False), nn.BatchNorm2d(256),
                                 nn.ReLU(), nn.Conv2d(256, CLASSES + 1, 1))

    def optimizer(self):
        backbone = [p for n, p in self.vit.named_parameters() if "norm" not in n]
        heads = [p for n, p in self.named_parameters() if not n.startswith("vit.")]
        return torch.optim.AdamW([{"params": backbone, "lr": 6e-5}, {"params": heads, "lr": 6e-4}],
                                 lr=6e-4, weight_decay=0.01)

    def forward_main(self, images):
        _, tokens, hw, _, logits = run_blocks(self.vit, images, logits_from=len(self.vit.blocks) - 2)
        features = patch_features(tokens, hw)
        cams = self.classifier(features)
        s = torch.cat([l[:, :, 1:, 1:] for l in logits], 1)  # raw q·kᵀ of the patches
        s = s + s.transpose(-2, -1)
        mean = s.mean((-2, -1), keepdim=True)
        s = (s - mean) / (s - mean).pow(2).mean((-2, -1), keepdim=True).add(1e-5).sqrt()
        affinity = torch.sigmoid(self.aff_proj(s)).squeeze(1)
        return features, cams, affinity

    def step(self, images, labels):
        B, _, H, W = images.shape
        features, cams, affinity = self.forward_main(images)
        losses = {"cls": F.binary_cross_entropy_with_logits(cams.flatten(2).amax(2), labels)}
        with torch.no_grad():  # multi-scale + flip CAMs (max-merged), as the official step
            merged = None
            for scale in (1.0, 0.5, 1.5):
                side = int(round(H * scale / 8)) * 8
                x = F.interpolate(images, size=(side, side), mode="bilinear", align_corners=False)
                _, c, _ = self.forward_main(torch.cat([x, x.flip(3)]))
                c = F.relu(c[:B]) + F.relu(c[B:]).flip(3)
                c = F.interpolate(c, size=(H, W), mode="bilinear", align_corners=False)
                merged = c if merged is None else torch.maximum(merged, c)
            merged = merged / merged.flatten(2).amax(2).clamp_min(1e-5)[..., None, None]
            merged = merged * labels[..., None, None]
            score, cls = merged.max(1)
            seg_labels = cls + 1
            seg_labels[score < 0.55] = 0
            seg_labels[(score >= 0.35) & (score < 0.55)] = 255
            gh, gw = cams.shape[2:]
            small = F.interpolate(seg_labels[:, None].float(), size=(gh, gw), mode="nearest")[:, 0].long().flatten(1)
            same = (small[:, :, None] == small[:, None, :]).to(torch.uint8)
            aff_labels = torch.where((small[:, :, None] == 255) | (small[:, None, :] == 255),
                                     torch.full_like(same, 255), same)
        seg_logits = F.interpolate(self.seg(features), size=(H, W), mode="bilinear", align_corners=False)
        per_pixel = F.cross_entropy(seg_logits, seg_labels.masked_fill(seg_labels == 255, 0), reduction="none")
        bg = (seg_labels == 0).float()
        fg = ((seg_labels > 0) & (seg_labels != 255)).float()
        seg = 0.5 * (per_pixel * bg).sum() / bg.sum().clamp_min(1) + 0.5 * (per_pixel * fg).sum() / fg.sum().clamp_min(1)
        pos, neg = (aff_labels == 1).float(), (aff_labels == 0).float()
        aff = 0.5 * (pos * (1 - affinity)).sum() / (pos.sum() + 1) + 0.5 * (neg * affinity).sum() / (neg.sum() + 1)
        losses["seg"], losses["aff"] = 0.1 * seg, 0.1 * aff
        (seg_labels == 255).float().mean().item()  # its "ignored" log
        return losses


def main():
    names, repeats = sys.argv[1].split(","), int(sys.argv[2])
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 128
    precision = sys.argv[5] if len(sys.argv) > 5 else "fp32"  # bf16: the step under autocast, as `wsss train --precision bf16`
    for name in names:
        torch.manual_seed(0)
        model = {"cam": Cam, "acr": Acr, "afa": Afa}[name](Vit(*PRESETS["vit_demo_patch8"]))
        model.train()
        optimizer = model.optimizer()
        images = torch.randn(batch, 3, size, size)
        labels = (torch.rand(batch, CLASSES) < 0.15).float()
        labels[:, 0] = 1
        times = []
        for r in range(-2, repeats):
            t0 = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                losses = model.step(images, labels)
            total = sum(losses.values())
            logged = sum(l.item() for l in losses.values()) + total.item()
            if not math.isfinite(logged):
                sys.exit(1)
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
            if r >= 0:
                times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        print(json.dumps({"impl": "python3-torch " + torch.__version__, "method": name, "backbone": "vit_demo_patch8",
                          "size": size, "batch": batch, "threads": torch.get_num_threads(),
                          "median_ms": times[len(times) // 2], "min_ms": times[0], "precision": precision}), flush=True)


if __name__ == "__main__":
    main()
