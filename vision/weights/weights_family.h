#pragma once
// Which family a pretrained weights file belongs to, and so which input normalisation it was
// trained with: Google's and timm's augreg ViTs take 0.5/0.5, DINO, DeiT, MiT and (as ACR uses
// it) the R50 hybrid take ImageNet mean/std. A file's normalisation, once known, replaces the
// preset's (loadVitWeights applies it) and is stored in the checkpoint, so inference normalises
// as training did. Rule of use: Unknown keeps the preset's normalisation; never guess.
#include "vision/backbones/backbone.h"

#include <torch/types.h>

#include <map>
#include <string>

namespace wsss::vision {

enum class WeightsFamily {
    Unknown,
    AugregVit, // Google's ViT releases and timm's augreg / orig_in21k ports: 0.5/0.5
    Dino,      // DINO ViTs: ImageNet
    Deit,      // DeiT (distilled or not): ImageNet
    Mit,       // SegFormer's MiT: ImageNet
    R50Hybrid, // R50+ViT-B/16: ImageNet, as ACR trains it (methods/acr.md §4: not timm's 0.5)
    Annotated, // the file's own "normalization" metadata entry says it
};
std::string familyName(WeightsFamily family);

// The normalisation of a known family (not Unknown or Annotated).
Normalization familyNormalization(WeightsFamily family);

struct DetectedFamily {
    WeightsFamily family = WeightsFamily::Unknown;
    Normalization norm;  // meaningful unless family is Unknown
    std::string reason;  // what decided it, e.g. "file name \"...augreg...\"", for notes
};

// Decides, in this order: (1) a metadata entry "normalization" = {"mean": [3], "std": [3]} (for
// converted files; malformed → wsss::Error naming `path`); (2) keys that only one family has
// (patch_embed.backbone.* → R50 hybrid, dist_token / distillation_token → DeiT, block1.* → MiT);
// (3) tokens of the file name, then of the Hugging Face cache folder up to three levels up
// (models--timm--vit_small_patch16_384.augreg_in21k_ft_in1k/snapshots/<hash>/model.safetensors),
// then, for a file named model.safetensors, of its own folder: dino, deit, mit_b / segformer,
// r50 / resnet50, then augreg / in21k / jx_vit / google--vit. Nothing matched: Unknown.
DetectedFamily detectWeightsFamily(const std::map<std::string, torch::Tensor> &tensors,
                                   const std::map<std::string, std::string> &metadata, const std::string &path);

// "mean 0.5/0.5/0.5, std 0.5/0.5/0.5", for notes and messages.
std::string describeNormalization(const Normalization &norm);

} // namespace wsss::vision
