#pragma once
// `afa`: Learning Affinity from Attention (Ru et al., CVPR 2022; methods/afa.md), trained end to
// end as the official code does: a GMP classifier gives CAMs; multi-scale CAMs refined by PAR
// give pseudo labels; an affinity head reads the raw Q·Kᵀ logits of the last two blocks and
// learns pairwise labels from them; its random walk propagates the CAMs into the labels of a
// segmentation head. Official backbone MiT-B1 with stage-4 stride 1 and SegFormer's head
// (`--backbone mit_b1`); any ViT preset too (its last blocks' logits, a light head on its grid).
#include "training/methods/method.h"
#include "training/methods/seg_head.h"
#include "vision/backbones/mit.h"
#include "vision/backbones/segformer_head.h"
#include "vision/maps/cam.h"

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>

#include <vector>

namespace wsss::training {

struct AfaConfig {
    std::string pooling = "gmp";             // classification pooling (afa.md §3.2; gap as an option)
    std::vector<double> camScales{1.0, 0.5, 1.5}; // multi-scale + flip CAMs; the largest scale's affinity propagates
    double bgHigh = 0.55, bgLow = 0.35;      // β_h, β_l: constant background scores of the pseudo labels
    double camBgThreshold = 0.45;            // background threshold of the CAM seeds at inference
    int radius = 8;                          // affinity window, in tokens (Chebyshev)
    int parIterations = 10;                  // PAR on the pseudo labels (VOC 10, COCO 15)
    int affinityBlocks = 2;                  // last blocks whose attention logits feed the affinity head
    double clsOnlyFraction = 0.1;            // classification only for the first 2000 of 20000 steps
    double segSwitchFraction = 0.3;          // seg labels from the propagated maps after 6000 of 20000
    double segWeight = 0.1, affWeight = 0.1; // λ1, λ2
    int headChannels = 256;                  // segmentation head width (SegFormer's embedding dim)
    // λ3 of the dense-energy regularisation the official code later removed: off by default; the
    // code had 0.01, on top of its loss layer's own weight 1e-7 (kept inside).
    double regWeight = 0;
    double regSigmaRgb = 15, regSigmaXy = 100, regScale = 0.5;

    nlohmann::json toJson() const;
    static AfaConfig fromJson(const nlohmann::json &json);
};

// The affinity head: attention logits [B, L, N, N] (L = blocks × heads) → sigmoid of a 1×1 conv
// over S + Sᵀ, [B, N, N], exactly symmetric.
class AffinityHeadImpl : public torch::nn::Module {
public:
    explicit AffinityHeadImpl(int channels);
    torch::Tensor forward(const torch::Tensor &logits);

private:
    torch::nn::Conv2d m_proj{nullptr};
};
TORCH_MODULE(AffinityHead);

class AfaMethod : public Method {
public:
    explicit AfaMethod(const MethodSpec &spec);

    std::string name() const override { return "afa"; }
    StepResult trainStep(const Batch &batch) override;
    MethodOutput infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels) override;
    // The pseudo-masks are the propagated CAMs under a background threshold (the official
    // validation's "aff cams"); the seg head's probabilities are the map "seg" with its
    // background, the network's prediction once trained long enough to learn those labels.
    std::string primaryMap() const override { return "aff"; }
    nlohmann::json config() const override { return m_config.toJson(); }
    TrainRecipe recipe() const override;
    // The official groups: backbone at lr/10 with its LayerNorms frozen, heads at lr, all decayed.
    std::vector<torch::optim::OptimizerParamGroup> parameterGroups(const TrainRecipe &recipe) override;
    BackboneInfo backboneInfo() const override;
    std::vector<std::string> loadBackboneWeights(const std::string &path) override;
    void setInputNormalization(const vision::Normalization &norm) override;

    struct Forward {
        torch::Tensor features; // [B, D, h, w]: the ViT's patch tokens or MiT's stage 4
        std::vector<torch::Tensor> stages; // MiT: the four stage maps (SegFormer's head reads them)
        torch::Tensor cams;     // [B, K, h, w] raw class maps
        torch::Tensor logits;   // [B, K] pooled
        torch::Tensor affinity; // [B, N, N] learned affinity
    };
    // One pass of the network; `capture` adds what the studio asks for.
    Forward forward(const torch::Tensor &images, const vision::CaptureRequest &extra = {},
                    vision::BackboneOutput *backboneOut = nullptr);
    // Segmentation logits [B, 1 + K, h', w'] of a forward (at its head's resolution).
    torch::Tensor segment(const Forward &f);
    // Multi-scale + flip CAMs [B, K, H, W] in [0, 1]; the affinity of the largest scale
    // (non-flipped images) goes to `largestAffinity` with its grid size.
    torch::Tensor multiScaleCams(const torch::Tensor &images, torch::Tensor *largestAffinity,
                                 std::int64_t *gridH, std::int64_t *gridW);

private:
    bool isMit() const { return !m_backbone; }

    AfaConfig m_config;
    vision::MixTransformer m_mit{nullptr};      // the backbone when it is MiT (m_backbone is then null)
    vision::SegformerHead m_segformer{nullptr}; // MiT's seg head
    vision::Pooling m_pooling;
    torch::nn::Conv2d m_classifier{nullptr};
    AffinityHead m_affinityHead{nullptr};
    torch::nn::Dropout2d m_segDropout{nullptr};
    SegHead m_segHead{nullptr};
};

} // namespace wsss::training
