#pragma once
// `vitpcm`: ViT-PCM (Rossetti et al., ECCV 2022; METHODS.md §4, methods/vitpcm.md). ViT patch
// tokens → HV-BiLSTM → a bias-free patch classifier with a softmax over background + K classes
// (the patch-class map, PCM) → global max pooling → multilabel BCE with the background bit,
// plus L2 on the classifier and the equivariance loss L_ET on 2×2 mosaics of transformed views.
// Its maps predict background themselves: the pseudo-mask is the BPM, no threshold. Rule of
// use: the trainer's steps drive the frozen warm-up (Batch::step / totalSteps).
#include "training/methods/method.h"
#include "training/methods/vitpcm/vitpcm_config.h"
#include "training/methods/vitpcm/vitpcm_losses.h"
#include "training/methods/vitpcm/vitpcm_modules.h"

namespace wsss::training {

class VitPcmMethod : public Method {
public:
    explicit VitPcmMethod(const MethodSpec &spec);

    std::string name() const override { return "vitpcm"; }
    StepResult trainStep(const Batch &batch) override;
    MethodOutput infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels) override;
    std::string primaryMap() const override { return "pcm"; }
    bool predictsBackground() const override { return m_config.pcmBackground == "own"; }
    nlohmann::json config() const override { return m_config.toJson(); }
    TrainRecipe recipe() const override { return m_config.recipe(); }
    // Every backbone parameter, frozen or not at the moment: the warm-up freezes by requires_grad,
    // and the optimiser must already hold the blocks it unfreezes later.
    std::vector<torch::optim::OptimizerParamGroup> parameterGroups(const TrainRecipe &recipe) override;

    // The patch-class maps Z [B, C, h, w] (softmax over background + K) of normalised images.
    torch::Tensor patchClassMaps(const torch::Tensor &images);
    // Freezes the whole backbone (warm-up) or trains only its last unfrozenBlocks() blocks and
    // its final LayerNorm (vitpcm.md §6). trainStep calls it from the batch's step.
    void setWarmup(bool warmup);
    bool inWarmup(std::int64_t step, std::int64_t totalSteps) const;
    int unfrozenBlocks() const { return m_unfreezeBlocks; }
    // Draws one view geometry per item for a grid of gridH × gridW patches and views of
    // viewH × viewW patches (vitpcm.md §5 branch 2, scaled to the grid).
    std::vector<ViewGeometry> sampleGeometries(std::int64_t count, std::int64_t gridH, std::int64_t gridW,
                                               std::int64_t viewH, std::int64_t viewW) const;
    // L_ET for given geometries (vitpcm.md §4.3): the eval-mode, no-grad teacher on the images,
    // mapped into each view and label-masked; the student (train mode as the caller left it) on
    // the transformed images, as mosaics or alone. foreground labels: [B, K].
    // Returns {L_ET, its gap to the minimum}.
    std::pair<torch::Tensor, torch::Tensor> equivarianceTerm(const torch::Tensor &images, const torch::Tensor &labels,
                                                             const std::vector<ViewGeometry> &geometries,
                                                             std::int64_t viewH, std::int64_t viewW);

    const VitPcmHead &head() const { return m_head; }
    // The image infer() runs on: image [1, 3, H, W] resized by infer_scale to whole patches.
    torch::Tensor inferInput(const torch::Tensor &image) const;

private:
    vision::DropRates dropRates() const;

    VitPcmConfig m_config;
    int m_unfreezeBlocks = 1;
    int m_patch = 16;
    VitPcmHead m_head{nullptr};
};

} // namespace wsss::training
