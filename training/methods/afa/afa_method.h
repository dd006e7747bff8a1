#pragma once
// `afa`: Learning Affinity from Attention (Ru et al., CVPR 2022; methods/afa.md), trained end to
// end as the official code does: a GMP classifier gives CAMs; multi-scale CAMs refined by PAR
// give pseudo labels; an affinity head reads the raw Q·Kᵀ logits of the last two blocks and
// learns pairwise labels from them; its random walk propagates the CAMs into the labels of a
// segmentation head. Official backbone MiT-B1 with stage-4 stride 1 and SegFormer's head
// (`--backbone mit_b1`); any ViT preset too (its last blocks' logits, a light head on its grid).
#include "training/methods/method.h"
#include "vision/heads/seg_head.h"
#include "vision/backbones/mit.h"
#include "vision/heads/segformer_head.h"
#include "vision/labels/pseudo_label_rule.h"
#include "vision/maps/cam.h"

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>

#include <vector>

namespace wsss::training {

struct AfaConfig {
    // Classification pooling: "gmp" (the official, afa.md §3.2; AFA's Table 1 on VOC with an
    // ImageNet ViT-B: GMP 48.2 against GAP 30.7 train mIoU) or "gap". Default gap: on the demo
    // backbone GMP's CAMs do not find the items (the peak of a labelled class's map lies on that
    // item for 18 % of 182 val maps, about chance where items cover 11 % of the image; GAP 53 %).
    std::string pooling = "gap";
    std::vector<double> camScales{1.0, 0.5, 1.5}; // multi-scale + flip CAMs; the largest scale's affinity propagates
    // How each scale's CAM is scaled to [0, 1]: "relu_max" (the official multi_scale_cam: ReLU per
    // scale, then by the maximum, so a labelled class that scores negative everywhere gets an
    // empty map and its pixels become background) or "min_max" (no ReLU: (M − min)/(max − min),
    // as `cam` and ACR: the class's relative evidence is kept). Default relu_max: the scale the
    // official β_l / β_h are set for (its CAMs' best background threshold on the demo is 0.36;
    // min_max's is about 0.6, so the propagated background of 0.35 wins too little). min_max
    // suits GMP on a weak backbone, where a present class often scores below 0 everywhere (half
    // of the demo's val maps were empty; 5 % with GAP).
    std::string camNormalization = "relu_max";
    double bgHigh = 0.55, bgLow = 0.35;      // β_h, β_l: constant background scores of the pseudo labels
    double camBgThreshold = vision::kDefaultBgThreshold; // background threshold of the CAM seeds at inference
    // Affinity window (Chebyshev, in tokens): `radius` tokens when > 0 (official 8); 0 = the
    // fraction of the shorter side of the scale-1 token grid, rounded, at least 1 (8 of the
    // official 32×32 grid at a 512-px crop; 4 of a 16×16 one). The 1.5× scale's walk uses the same.
    int radius = 0;
    double radiusFraction = 0.25;
    int parIterations = 10;                  // PAR on the pseudo labels (VOC 10, COCO 15)
    // PAR's dilations (pixels) as set for an image of parReferenceSize pixels a side (official:
    // half of the 512-px crop, 256), scaled to the side PAR runs on (scaledDilations): {1, 2, 3, 6}
    // at a 128-px crop. parReferenceSize 0 uses them as given.
    std::vector<int> parDilations{1, 2, 4, 8, 12, 24};
    int parReferenceSize = 256;
    int affinityBlocks = 2;                  // last blocks whose attention logits feed the affinity head
    // What the affinity head's 1×1 conv reads of the blocks' Q·Kᵀ: "raw" (the official code: the
    // unscaled logits), "scaled" (the paper's Eq. 1: Q·Kᵀ/√d) or "standardized" (S + Sᵀ brought to
    // mean 0 and std 1 per image and head). "" = the backbone's default: raw on MiT (the official
    // network), standardized on a ViT, whose logits span hundreds and saturate the sigmoid.
    std::string affinityInput;
    // The `aff` pseudo-mask: "propagated" (the official validation: argmax over the walk's
    // [background seeded at β_l; classes]) or "rule" (the propagated background dropped: the
    // pseudo-label rule's threshold or band decides over the class maps).
    std::string affBackground = "propagated";
    // The `seg` map's test-time scales: each scale runs [x; flip(x)], the pair's logits are
    // averaged (the flip undone) and brought to the scale-1 logit size, and the element-wise
    // maximum over scales is softmaxed (AFA's scripts/test_msc_flip.py: {1, 0.5, 0.75}; ECA's
    // {1, 0.75, 1.25}). [1] = a single pass without the flip.
    std::vector<double> segScales{1.0, 0.5, 0.75};
    double clsOnlyFraction = 0.1;            // classification only for the first 2000 of 20000 steps
    double segSwitchFraction = 0.3;          // seg labels from the propagated maps after 6000 of 20000
    double segWeight = 0.1, affWeight = 0.1; // λ1, λ2
    int headChannels = 256;                  // segmentation head width (SegFormer's embedding dim)
    // λ3 of the dense-energy regularisation the official code later removed: off by default; the
    // code had 0.01, on top of its loss layer's own weight 1e-7 (kept inside).
    double regWeight = 0;
    double regSigmaRgb = 15, regSigmaXy = 100, regScale = 0.5;

    // The affinity window on a gridH × gridW token grid (the scale-1 grid of the input).
    int radiusFor(std::int64_t gridH, std::int64_t gridW) const;
    // PAR's dilations for an image of `side` pixels (the shorter side PAR runs on).
    std::vector<int> parDilationsFor(std::int64_t side) const;

    nlohmann::json toJson() const;
    static AfaConfig fromJson(const nlohmann::json &json);
    // The config's JSON keys (a method built on AFA takes them beside its own).
    static const std::vector<std::string> &keys();
};

// The affinity head: attention logits [B, L, N, N] (L = blocks × heads) → sigmoid of a 1×1 conv
// over S + Sᵀ (standardized per image and channel when asked), [B, N, N], exactly symmetric.
class AffinityHeadImpl : public torch::nn::Module {
public:
    explicit AffinityHeadImpl(int channels, bool standardize = false);
    torch::Tensor forward(const torch::Tensor &logits);

private:
    torch::nn::Conv2d m_proj{nullptr};
    bool m_standardize;
};
TORCH_MODULE(AffinityHead);

class AfaMethod : public Method {
public:
    explicit AfaMethod(const MethodSpec &spec);

    std::string name() const override { return "afa"; }
    StepResult trainStep(const Batch &batch) override;
    MethodOutput infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels) override;
    // Only the multi-scale CAMs for `cam`, the walk for `aff`, the multi-scale segmentation for `seg`.
    MethodOutput inferMaps(const torch::Tensor &image, const torch::Tensor &labels,
                           const std::set<std::string> &kinds) override;
    // The pseudo-masks are the propagated CAMs (the official validation's "aff cams"): by
    // default the argmax over the walk's background and classes, as the official code takes it
    // (backgrounds["aff"]); with aff_background "rule", the rule's threshold or band decides. The
    // seg head's probabilities are the map "seg" with its background, the network's prediction
    // once trained long enough to learn those labels.
    std::string primaryMap() const override { return "aff"; }
    bool predictsBackground() const override { return m_config.affBackground == "propagated"; }
    nlohmann::json config() const override { return m_config.toJson(); }
    TrainRecipe recipe() const override;
    // The official groups: backbone at lr/10 with its LayerNorms frozen, heads at lr, all decayed.
    std::vector<torch::optim::OptimizerParamGroup> parameterGroups(const TrainRecipe &recipe) override;

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
    // seg_scales' multi-scale + flip logits of images [B, 3, H, W], at the size of the scale-1
    // pass's logits; `main` is that pass of the unflipped images (its logits are the result when
    // seg_scales is [1]).
    torch::Tensor multiScaleSegment(const torch::Tensor &images, const Forward &main);
    // The training labels of a batch given its main forward: the seg head's [B, H, W] long and
    // the affinity head's [B, N, N] uint8 over the forward's grid (255 = ignore, which covers the
    // batch's padding), and the fraction of ignored seg pixels. No gradients.
    struct Targets {
        torch::Tensor seg, affinity;
        double ignored = 0;
        torch::Tensor pseudo; // [B, H, W] long: the PAR-refined CAM label the affinity labels come from
        torch::Tensor cams;   // [B, K, H, W] in [0, 1]: the multi-scale CAMs, every class (not label-masked)
        torch::Tensor image;  // [B, 3, H, W] in [0, 1]: the image PAR read (8-bit steps)
    };
    Targets targets(const Batch &batch, const Forward &main);
    // Multi-scale + flip CAMs [B, K, H, W] in [0, 1]; the affinity of the largest scale
    // (non-flipped images) goes to `largestAffinity` with its grid size.
    torch::Tensor multiScaleCams(const torch::Tensor &images, torch::Tensor *largestAffinity,
                                 std::int64_t *gridH, std::int64_t *gridW);

protected:
    // A method built on AFA (ECA) passes the AFA part of its own config.
    AfaMethod(const MethodSpec &spec, AfaConfig config);
    // infer(), also handing back its single-scale forward (a method built on AFA reads its features);
    // with `only`, just those maps (inferMaps).
    MethodOutput inferWith(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels,
                           Forward *mainOut, const std::set<std::string> *only = nullptr);
    // The classes an inference spreads: the given labels [K], else the scores above 0.5 (at least
    // the best) → [1, K] in the scores' dtype.
    static torch::Tensor presentClasses(const torch::Tensor &labels, const torch::Tensor &scores);

    AfaConfig m_config;

private:
    vision::SegformerHead m_segformer{nullptr}; // the seg head of a pyramid backbone (MiT); else m_segHead
    vision::Pooling m_pooling;
    torch::nn::Conv2d m_classifier{nullptr};
    AffinityHead m_affinityHead{nullptr};
    torch::nn::Dropout2d m_segDropout{nullptr};
    vision::SegHead m_segHead{nullptr};
};

} // namespace wsss::training
