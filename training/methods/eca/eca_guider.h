#pragma once
// ECA's guider (methods/eca.md §7 step 3, App. A): a frozen ViT whose last block's keys (heads
// concatenated) give the patch graph and whose class-token query gives the foreground cue. It is
// never trained: no gradients, always in eval mode, and the method's optimiser never sees it.
#include "vision/backbones/vit.h"

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wsss::training {

// Whether `path` is a project checkpoint (a safetensors file with a "wsss" header), not plain weights.
bool isProjectCheckpoint(const std::string &path);

class GuiderImpl : public torch::nn::Module {
public:
    explicit GuiderImpl(const std::string &preset);

    // DINO/timm/Hugging Face weights (names detected), or a project checkpoint's backbone.* with
    // its run's input normalisation. Returns notes on what was skipped or resized.
    std::vector<std::string> load(const std::string &path);

    struct Keys {
        torch::Tensor keys;     // [B, gridH·gridW, heads·head dim]: the patch tokens' keys
        torch::Tensor clsQuery; // [B, heads·head dim]: the class token's query
        std::int64_t gridH = 0, gridW = 0;
    };
    // The last block's keys and class query for image [B, 3, H, W] in [0, 1], resized by `scale`
    // (bilinear; sides int(scale·side) rounded to the patch) and normalised for the guider. No grad.
    Keys keysAt(const torch::Tensor &image, double scale);

    vision::VisionTransformerImpl &vit() { return *m_vit; }
    void train(bool on = true) override; // stays in eval: the guider is frozen

private:
    vision::VisionTransformer m_vit{nullptr};
};
TORCH_MODULE(Guider);

} // namespace wsss::training
