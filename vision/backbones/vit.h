#pragma once
// Vision Transformer (ViT / DeiT / DINO sizes) with an optional convolutional stem: the R50
// hybrid's ResNetV2 (resnetv2_stem.h), or a few stride-2 convs for the CPU demo preset.
// Modules are registered under timm's names (patch_embed.proj, blocks.N.attn.qkv, ...) so timm
// checkpoints map 1:1. Any input size works: the position embedding is interpolated to the grid.
#include "vision/backbones/backbone.h"
#include "vision/backbones/resnetv2_stem.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <optional>
#include <string>
#include <vector>

namespace wsss::vision {

// How the stored position embedding is resampled to another patch grid at forward time.
enum class PosEmbedResize {
    Bicubic,        // bicubic to the grid size, align_corners false (timm)
    BicubicScale,   // bicubic with scale factor (g + 0.1)/stored side (DINO, MCTformer)
    Bilinear,       // bilinear to the grid size, align_corners false (ACR's DPT code)
};

struct VitConfig {
    std::string name;                 // preset name, e.g. "vit_small_patch16"
    int patchSize = 16;               // pixels per patch side (the stem's total stride)
    int embedDim = 384;               // token width
    int depth = 12;                   // transformer blocks
    int heads = 6;                    // attention heads per block
    double mlpRatio = 4.0;            // MLP hidden width / embedDim
    int prefixTokens = 1;             // class tokens (DeiT: 1; MCTformer: one per class)
    int imgSize = 224;                // the input size the position embedding is laid out for
    double lnEps = 1e-6;              // LayerNorm epsilon (timm ViTs)
    std::vector<int> stemChannels;    // empty: linear patch embedding; else conv stem widths
    std::optional<ResNetV2Config> resnetStem; // the R50 hybrid's stem (then stemChannels is empty)
    PosEmbedResize posEmbedResize = PosEmbedResize::Bicubic;
    Normalization norm;               // input normalisation of its weights

    int gridSize() const { return imgSize / patchSize; }
    void validate() const;
};

// One block's captured tensors (those its CaptureRequest asked for; the others stay undefined).
struct BlockCapture {
    torch::Tensor probs, logits, queries, keys;
};

class AttentionImpl : public torch::nn::Module {
public:
    AttentionImpl(int dim, int heads);
    // x: [B, T, D] → [B, T, D]. With `what` and `into`, stores what was asked for
    // ([B, heads, T, T] probabilities and logits, [B, heads, T, head dim] queries and keys).
    // `dropout` acts after the projection, in train mode only.
    torch::Tensor forward(const torch::Tensor &x, const CaptureRequest *what = nullptr,
                          BlockCapture *into = nullptr, double dropout = 0.0);

private:
    int m_heads;
    double m_scale;
    torch::nn::Linear m_qkv{nullptr}, m_proj{nullptr};
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
public:
    MlpImpl(int dim, int hidden);
    // `dropout` acts after the activation and after fc2, in train mode only.
    torch::Tensor forward(const torch::Tensor &x, double dropout = 0.0);

private:
    torch::nn::Linear m_fc1{nullptr}, m_fc2{nullptr};
};
TORCH_MODULE(Mlp);

// Pre-LN transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)); in train mode each
// residual branch may be dropped per sample (drop-path) and dropout applied inside.
class BlockImpl : public torch::nn::Module {
public:
    BlockImpl(const VitConfig &config);
    torch::Tensor forward(const torch::Tensor &x, const CaptureRequest *what = nullptr,
                          BlockCapture *into = nullptr, double dropPath = 0.0, double dropout = 0.0);

private:
    torch::nn::LayerNorm m_norm1{nullptr}, m_norm2{nullptr};
    Attention m_attn{nullptr};
    Mlp m_mlp{nullptr};
};
TORCH_MODULE(Block);

// Patch embedding: a p×p stride-p conv; or a conv stem (3×3 stride-2 weight-standardised convs
// with GroupNorm and ReLU), or the hybrid's ResNetV2 (registered as "backbone", timm's
// HybridEmbed), followed by a 1×1 projection. Output [B, D, h, w].
class PatchEmbedImpl : public torch::nn::Module {
public:
    PatchEmbedImpl(const VitConfig &config);
    torch::Tensor forward(const torch::Tensor &x);

private:
    torch::nn::Sequential m_stem{nullptr};
    ResNetV2Stem m_backbone{nullptr};
    torch::nn::Conv2d m_proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

class VisionTransformerImpl : public Backbone {
public:
    explicit VisionTransformerImpl(VitConfig config);

    // x: [B, 3, H, W] normalised; H and W multiples of the patch size. `rates` act in train
    // mode only (eval mode: deterministic whatever they say).
    BackboneOutput forward(const torch::Tensor &x, const CaptureRequest &capture = {},
                           const DropRates &rates = {}) override;
    BackboneInfo info() const override;
    // loadVitWeights: timm or Hugging Face names, the family's normalisation applied.
    std::vector<std::string> loadWeights(const std::string &path) override;

    // The forward in pieces, for callers that run some blocks without gradients (ACR's
    // gradient maps): forward() == finalNorm(forwardBlocks(embed(x), 0, depth)).
    // embed: [B, 3, H, W] → the tokens entering block 0, [B, prefix + h*w, D] (patch embedding,
    // class tokens, position embedding, dropout); sets out's grid size and prefix count.
    torch::Tensor embed(const torch::Tensor &x, BackboneOutput &out, const DropRates &rates = {});
    // Runs blocks [first, last) on tokens, appending what `capture` asks for to out (block
    // indices in out.capturedLayers are absolute).
    torch::Tensor forwardBlocks(torch::Tensor tokens, int first, int last, const CaptureRequest &capture,
                                BackboneOutput &out, const DropRates &rates = {});
    // The final LayerNorm.
    torch::Tensor finalNorm(const torch::Tensor &tokens) { return m_norm(tokens); }

    const VitConfig &config() const { return m_config; }
    // The input normalisation of the weights now in the model (loadVitWeights sets the one of
    // the file's family; a checkpoint restores the one it was trained with).
    void setNormalization(const Normalization &norm) override { m_config.norm = norm; }
    // Parameters that take no weight decay (timm's no_weight_decay()).
    std::vector<std::string> noWeightDecay() const override;
    // pos_embed resized to a grid, the way config().posEmbedResize says.
    torch::Tensor positionEmbedding(std::int64_t gridHeight, std::int64_t gridWidth) const;

private:
    VitConfig m_config;
    PatchEmbed m_patchEmbed{nullptr};
    torch::Tensor m_clsToken, m_posEmbed;
    torch::nn::ModuleList m_blocks{nullptr};
    torch::nn::LayerNorm m_norm{nullptr};
    std::vector<Block> m_blockList; // the blocks of m_blocks, typed
};
TORCH_MODULE(VisionTransformer);

// Resizes a [1, prefix + g*g, D] position embedding (square stored grid) to a new grid,
// keeping the prefix. The default mode is timm's resample_abs_pos_embed (bicubic, no
// antialias, align_corners false), which is also what loading weights of another grid uses.
torch::Tensor resizePositionEmbedding(const torch::Tensor &posEmbed, int prefixTokens,
                                      std::int64_t newHeight, std::int64_t newWidth,
                                      PosEmbedResize mode = PosEmbedResize::Bicubic);

} // namespace wsss::vision
