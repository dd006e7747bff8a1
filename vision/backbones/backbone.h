#pragma once
// What a backbone returns, and what a caller may ask it to capture. Capture is opt-in per
// forward call so training pays nothing for it.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <array>
#include <string>
#include <vector>

namespace wsss::vision {

struct CaptureRequest {
    bool attention = false;  // post-softmax probabilities, [B, heads, T, T] per chosen block
    std::vector<int> layers; // which blocks (0-based, negative from the end); empty = all

    static CaptureRequest none() { return {}; }
    static CaptureRequest allAttention() { return {true, {}}; }
    bool wants(int layer, int depth) const;
};

struct BackboneOutput {
    torch::Tensor tokens;                 // [B, prefix + h*w, D], after the final norm
    std::int64_t gridHeight = 0, gridWidth = 0;
    int prefixTokens = 1;
    std::vector<int> capturedLayers;      // the block index of each attention entry
    std::vector<torch::Tensor> attention; // [B, heads, T, T] each

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

} // namespace wsss::vision
