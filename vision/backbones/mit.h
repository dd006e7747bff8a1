#pragma once
// Mix Transformer (MiT), SegFormer's encoder, at the B0 and B1 sizes: four stages of overlapping
// patch embedding, blocks of spatial-reduction attention and Mix-FFN, and a stage LayerNorm.
// Modules are registered under the official SegFormer names (patch_embed1.proj,
// block1.0.attn.kv, norm1, ...), the names of AFA's and ECA's mit_b1.pth; Hugging Face names are
// mapped in vision/weights/mit_key_maps.h. The forward returns the four stage maps and, on
// request, the last stage's pre-softmax attention logits (AFA's affinity input, afa.md §3.1).
#include "vision/backbones/backbone.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace wsss::vision {

constexpr int kMitStages = 4;

struct MitConfig {
    std::string name;                               // preset name, e.g. "mit_b1"
    std::array<int, kMitStages> widths{64, 128, 320, 512}; // channels per stage
    std::array<int, kMitStages> depths{2, 2, 2, 2};        // blocks per stage
    std::array<int, kMitStages> heads{1, 2, 5, 8};         // attention heads per stage
    std::array<int, kMitStages> srRatios{8, 4, 2, 1};      // spatial reduction of keys/values (1 = none)
    int lastStride = 2;      // stage-4 patch-embed stride: 2 official (1/32), 1 for AFA/ECA (1/16, afa.md §3.1)
    double mlpRatio = 4.0;   // Mix-FFN hidden width / stage width
    double dropPathRate = 0.1; // stochastic depth of the last block, linear from 0 (SegFormer and AFA: 0.1)
    double blockLnEps = 1e-6;  // block and stage LayerNorms (official; Hugging Face uses 1e-5)
    double embedLnEps = 1e-5;  // patch-embedding and spatial-reduction LayerNorms
    Normalization norm;        // ImageNet mean/std, as SegFormer's ImageNet-1k weights

    int totalDepth() const;
    // Patch-embedding conv of a stage (0-based): 7×7 stride 4, then 3×3 stride 2 (stage 4: lastStride).
    int kernel(int stage) const { return stage == 0 ? 7 : 3; }
    int stride(int stage) const;
    // Output stride of a stage relative to the input: 4, 8, 16, 32 (or 16 with lastStride 1).
    int outputStride(int stage) const;
    void validate() const;
};

// The preset of a name ("mit_b0", "mit_b1"); throws listing the known names when there is none.
MitConfig mitPreset(const std::string &name);
std::vector<std::string> mitBackboneNames();

// What a forward should do besides the features. Empty: the fast path.
struct MitRequest {
    bool lastStageLogits = false;        // keep each last-stage block's pre-softmax q·kᵀ
    std::optional<double> dropPathRate;  // overrides the config's for this call; only in train mode
};

struct MitOutput {
    std::vector<torch::Tensor> features;        // 4 stage maps [B, C_i, H_i, W_i], after the stage norms
    std::vector<torch::Tensor> attentionLogits; // last stage, per block: unscaled q·kᵀ [B, heads, N, N_kv]
};

// Overlapping patch embedding: a k×k conv (padding k/2) then LayerNorm on the tokens.
class OverlapPatchEmbedImpl : public torch::nn::Module {
public:
    OverlapPatchEmbedImpl(int in, int out, int kernel, int stride, double lnEps);
    // x: [B, in, H, W] → tokens [B, h*w, out]; h and w returned through the pointers.
    torch::Tensor forward(const torch::Tensor &x, std::int64_t *h, std::int64_t *w);

private:
    torch::nn::Conv2d m_proj{nullptr};
    torch::nn::LayerNorm m_norm{nullptr};
};
TORCH_MODULE(OverlapPatchEmbed);

// Spatial-reduction attention: queries from every token; keys and values from the token map
// shrunk by an sr×sr stride-sr conv and a LayerNorm (when sr > 1). kv is one Linear(C, 2C) whose
// first C outputs are k and last C are v.
class MitAttentionImpl : public torch::nn::Module {
public:
    MitAttentionImpl(int dim, int heads, int srRatio, double lnEps);
    // x: [B, N, C] on an h×w grid → [B, N, C]; when logits is given, stores q·kᵀ [B, heads, N, N_kv].
    torch::Tensor forward(const torch::Tensor &x, std::int64_t h, std::int64_t w, torch::Tensor *logits = nullptr);

private:
    int m_heads;
    double m_scale;
    torch::nn::Linear m_q{nullptr}, m_kv{nullptr}, m_proj{nullptr};
    torch::nn::Conv2d m_sr{nullptr};
    torch::nn::LayerNorm m_norm{nullptr};
};
TORCH_MODULE(MitAttention);

// The depthwise 3×3 conv of Mix-FFN; a module of its own so its key is mlp.dwconv.dwconv.
class DepthwiseConvImpl : public torch::nn::Module {
public:
    explicit DepthwiseConvImpl(int dim);
    // x: [B, N, C] on an h×w grid → [B, N, C].
    torch::Tensor forward(const torch::Tensor &x, std::int64_t h, std::int64_t w);

private:
    torch::nn::Conv2d m_dwconv{nullptr};
};
TORCH_MODULE(DepthwiseConv);

// Mix-FFN: fc1 → depthwise 3×3 conv → GELU (exact) → fc2.
class MixFfnImpl : public torch::nn::Module {
public:
    MixFfnImpl(int dim, int hidden);
    torch::Tensor forward(const torch::Tensor &x, std::int64_t h, std::int64_t w);

private:
    torch::nn::Linear m_fc1{nullptr}, m_fc2{nullptr};
    DepthwiseConv m_dwconv{nullptr};
};
TORCH_MODULE(MixFfn);

// Pre-LN block: x + DropPath(attn(norm1(x))), then x + DropPath(mlp(norm2(x))).
class MitBlockImpl : public torch::nn::Module {
public:
    MitBlockImpl(const MitConfig &config, int stage);
    // dropPath: this block's stochastic-depth probability (used in train mode only).
    torch::Tensor forward(const torch::Tensor &x, std::int64_t h, std::int64_t w, double dropPath,
                          torch::Tensor *logits = nullptr);

private:
    torch::nn::LayerNorm m_norm1{nullptr}, m_norm2{nullptr};
    MitAttention m_attn{nullptr};
    MixFfn m_mlp{nullptr};
};
TORCH_MODULE(MitBlock);

class MixTransformerImpl : public Backbone {
public:
    explicit MixTransformerImpl(MitConfig config);

    // x: [B, 3, H, W] normalised, any size ≥ 1 (each stage's grid is ceil(H / stride)).
    MitOutput forwardStages(const torch::Tensor &x, const MitRequest &request = {});
    // The Backbone view: stages, the last stage as tokens (no class token), and on request the
    // last stage's blocks' logits (scaled by 1/√head dim, as a ViT's) and attention; blocks of
    // the earlier stages attend to reduced keys and are never captured. rates.path overrides the
    // config's drop-path rate.
    BackboneOutput forward(const torch::Tensor &x, const CaptureRequest &capture = {},
                           const DropRates &rates = {}) override;
    BackboneInfo info() const override;
    // loadMitWeights: the official SegFormer or Hugging Face names.
    std::vector<std::string> loadWeights(const std::string &path) override;

    const MitConfig &config() const { return m_config; }
    void setNormalization(const Normalization &norm) override { m_config.norm = norm; }
    // The stochastic-depth probability of every block in order, linear from 0 to `rate`.
    std::vector<double> dropPathRates(double rate) const;

private:
    MitConfig m_config;
    std::vector<OverlapPatchEmbed> m_patchEmbeds;
    std::vector<torch::nn::ModuleList> m_blocks;
    std::vector<torch::nn::LayerNorm> m_norms;
};
TORCH_MODULE(MixTransformer);

} // namespace wsss::vision
