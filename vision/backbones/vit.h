#pragma once
// Vision Transformer (ViT / DeiT / DINO sizes) with an optional convolutional stem (the R50
// hybrid's idea, a few layers deep, for the CPU demo preset). Modules are registered under
// timm's names (patch_embed.proj, blocks.N.attn.qkv, ...) so timm checkpoints map almost 1:1.
// Any input size works: the position embedding is interpolated to the patch grid.
#include "vision/backbones/backbone.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

namespace wsss::vision {

struct VitConfig {
    std::string name;                 // preset name, e.g. "vit_small_patch16"
    int patchSize = 16;               // pixels per patch side (the stem's total stride)
    int embedDim = 384;               // token width
    int depth = 12;                   // transformer blocks
    int heads = 6;                    // attention heads per block
    double mlpRatio = 4.0;            // MLP hidden width / embedDim
    int prefixTokens = 1;             // class tokens
    int imgSize = 224;                // the input size the position embedding is laid out for
    double lnEps = 1e-6;              // LayerNorm epsilon (timm ViTs)
    std::vector<int> stemChannels;    // empty: linear patch embedding; else conv stem widths
    Normalization norm;               // input normalisation of its weights

    int gridSize() const { return imgSize / patchSize; }
    void validate() const;
};

class AttentionImpl : public torch::nn::Module {
public:
    AttentionImpl(int dim, int heads);
    // x: [B, T, D] → [B, T, D]; when probs is given, stores the attention [B, heads, T, T].
    torch::Tensor forward(const torch::Tensor &x, torch::Tensor *probs = nullptr);

private:
    int m_heads;
    double m_scale;
    torch::nn::Linear m_qkv{nullptr}, m_proj{nullptr};
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
public:
    MlpImpl(int dim, int hidden);
    torch::Tensor forward(const torch::Tensor &x);

private:
    torch::nn::Linear m_fc1{nullptr}, m_fc2{nullptr};
};
TORCH_MODULE(Mlp);

// Pre-LN transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)).
class BlockImpl : public torch::nn::Module {
public:
    BlockImpl(const VitConfig &config);
    torch::Tensor forward(const torch::Tensor &x, torch::Tensor *probs = nullptr);

private:
    torch::nn::LayerNorm m_norm1{nullptr}, m_norm2{nullptr};
    Attention m_attn{nullptr};
    Mlp m_mlp{nullptr};
};
TORCH_MODULE(Block);

// Patch embedding: a p×p stride-p conv, or a conv stem (3×3 stride-2 weight-standardised convs
// with GroupNorm and ReLU) followed by a 1×1 projection. Output [B, D, h, w].
class PatchEmbedImpl : public torch::nn::Module {
public:
    PatchEmbedImpl(const VitConfig &config);
    torch::Tensor forward(const torch::Tensor &x);

private:
    torch::nn::Sequential m_stem{nullptr};
    torch::nn::Conv2d m_proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

class VisionTransformerImpl : public torch::nn::Module {
public:
    explicit VisionTransformerImpl(VitConfig config);

    // x: [B, 3, H, W] normalised; H and W multiples of the patch size.
    BackboneOutput forward(const torch::Tensor &x, const CaptureRequest &capture = {});

    const VitConfig &config() const { return m_config; }
    // Parameters that take no weight decay (timm's no_weight_decay()).
    std::vector<std::string> noWeightDecay() const;
    // pos_embed resized to a grid (bicubic, as timm's resample_abs_pos_embed).
    torch::Tensor positionEmbedding(std::int64_t gridHeight, std::int64_t gridWidth) const;

private:
    VitConfig m_config;
    PatchEmbed m_patchEmbed{nullptr};
    torch::Tensor m_clsToken, m_posEmbed;
    torch::nn::ModuleList m_blocks{nullptr};
    torch::nn::LayerNorm m_norm{nullptr};
};
TORCH_MODULE(VisionTransformer);

// Resizes a [1, prefix + gh*gw, D] position embedding to a new grid (prefix kept).
torch::Tensor resizePositionEmbedding(const torch::Tensor &posEmbed, int prefixTokens,
                                      std::int64_t newHeight, std::int64_t newWidth);

} // namespace wsss::vision
