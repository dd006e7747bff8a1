#pragma once
// Backbone: the interface every image encoder implements (the ViT family, MiT), what it returns
// and what a caller may ask it to capture. Capture is opt-in per forward call so training pays
// nothing for it. Methods hold a Backbone; what only one family has (a ViT's blocks run one by
// one) they reach through its concrete class.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <array>
#include <string>
#include <vector>

namespace wsss::vision {

// Which blocks to capture and what from each. Fields after `layers` are opt-in extras, so
// `CaptureRequest{true, {-1}}` still means "the last block's probabilities".
struct CaptureRequest {
    bool attention = false;  // post-softmax probabilities, [B, heads, T, T] per chosen block
    std::vector<int> layers; // which blocks (0-based, negative from the end); empty = all
    bool logits = false;     // pre-softmax scaled Q·Kᵀ, [B, heads, T, T] (AFA's raw attention)
    bool queries = false;    // Q before scaling, [B, heads, T, head dim] (ECA's CLS query)
    bool keys = false;       // K, [B, heads, T, head dim] (ECA's DINO key affinity)

    static CaptureRequest none() { return {}; }
    static CaptureRequest allAttention() { return {true, {}}; }
    // True when something is captured at all (false: the forward takes the fast path).
    bool any() const { return attention || logits || queries || keys; }
    bool wants(int layer, int depth) const;
};

// Stochastic regularisation for one forward call (USAGE trains a teacher and a student with
// different rates). Both act in train mode only; eval mode ignores them.
struct DropRates {
    double path = 0.0;    // drop-path rate of the last block; block i gets path·i/(depth−1), as timm
    double dropout = 0.0; // timm's drop_rate: after the position embedding, the attention
                          // projection, the MLP activation and fc2
    void validate() const;
};

struct BackboneOutput {
    // A pyramid backbone (MiT): its stage maps [B, C_i, H_i, W_i], finest first; tokens are then
    // the last stage's. Empty for a ViT.
    std::vector<torch::Tensor> stages;
    torch::Tensor tokens;                 // [B, prefix + h*w, D], after the final norm
    torch::Tensor preNormTokens;          // [B, prefix + h*w, D], the last block's output before it
    std::int64_t gridHeight = 0, gridWidth = 0;
    int prefixTokens = 1;
    // The block index of each captured entry; each vector below that was requested has one
    // entry per captured block, in this order, and the others stay empty.
    std::vector<int> capturedLayers;
    std::vector<torch::Tensor> attention; // [B, heads, T, T] probabilities
    std::vector<torch::Tensor> logits;    // [B, heads, T, T] scaled Q·Kᵀ (1/√head dim) before the softmax
    std::vector<torch::Tensor> queries;   // [B, heads, T, head dim]
    std::vector<torch::Tensor> keys;      // [B, heads, T, head dim]

    // Patch tokens as a feature map: [B, D, h, w].
    torch::Tensor patchFeatures() const;
    // The class token(s): [B, prefix, D].
    torch::Tensor prefix() const;
};

// Input normalisation a backbone's weights were trained with (applied to 0..1 RGB).
struct Normalization {
    std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
    std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};

// What the loop, the inference, the methods and the studio need to know of a backbone.
struct BackboneInfo {
    std::string name;
    Normalization norm;        // input normalisation of its weights
    int stride = 16;           // input pixels per token of the grid the maps and affinities live on
    int sizeMultiple = 16;     // training and inference sides are multiples of this
    int inputMultiple = 16;    // what the forward needs (a ViT: its patch; MiT: 1, any size)
    int prefixTokens = 1;      // class tokens before the patch tokens (0 for MiT)
    int channels = 0;          // channels of the feature map the heads read (the last stage's)
    std::vector<int> stageChannels; // a pyramid's stage widths, finest first; empty for a ViT
    int depth = 0, heads = 0;  // attention blocks and heads the studio can show (0: none)
    // Blocks whose token-to-token logits a forward can capture (CaptureRequest::logits), their
    // heads and head width: a ViT's every block; MiT's last stage (stride 1: keys are every token).
    int affinityBlocks = 0, affinityHeads = 0, headDim = 0;
};

class Backbone : public torch::nn::Module {
public:
    // x: [B, 3, H, W] normalised, sides multiples of info().inputMultiple. `rates` act in train
    // mode only.
    virtual BackboneOutput forward(const torch::Tensor &x, const CaptureRequest &capture = {},
                                   const DropRates &rates = {}) = 0;
    virtual BackboneInfo info() const = 0;
    // Initialises from a weights file (names detected: timm, Hugging Face, official); returns notes
    // on what was skipped or resized.
    virtual std::vector<std::string> loadWeights(const std::string &path) = 0;
    // The input normalisation of the weights now in the model (a checkpoint restores its run's).
    virtual void setNormalization(const Normalization &norm) = 0;
    // Parameters (names under the backbone) that take no weight decay (timm's no_weight_decay()).
    virtual std::vector<std::string> noWeightDecay() const { return {}; }
};

// Stochastic depth (timm's drop_path), for the residual branches of every backbone: zero the
// branch for a random subset of samples and scale the kept ones by 1/(1 − rate), so the
// expectation is unchanged. The branch unchanged when not training or rate ≤ 0.
torch::Tensor dropPath(const torch::Tensor &branch, double rate, bool training);

// x in float32 (x itself when it is): group norm's input under `wsss train --precision bf16`,
// as LibTorch 1.13's CPU kernel takes no bfloat16 input beside float32 weights and autocast's
// lists leave it out.
inline torch::Tensor inFloat(const torch::Tensor &x)
{
    return x.to(torch::kFloat); // x itself when it is float32 already
}

} // namespace wsss::vision
