#pragma once
// VitPcmConfig: ViT-PCM's settings (methods/vitpcm.md). Defaults are the official code's
// (deepplants/ViT-PCM, configs/voc12.yaml, model.py); `preset: "paper"` switches to the paper's
// values (vitpcm.md §9). Keys the JSON sets explicitly win over the preset's. Lengths that the
// official code counts in epochs or blocks are fractions here, so a 40-step demo run on a
// 4-block backbone keeps the official proportions.
#include "training/methods/method.h"

#include <nlohmann/json.hpp>

#include <string>

namespace wsss::training {

struct VitPcmConfig {
    // official: the code's values. paper: 2 of 80 epochs of warm-up, the last 4 of 12 blocks
    // unfrozen, L2 0.1, classifier init N(0, 1) (vitpcm.md §9).
    std::string preset = "official";
    bool hvBiLstm = true;        // HV-BiLSTM conditioning; false: the classifier on the ViT tokens (Tab. 1 ablation)
    int hidden = 192;            // LSTM units per direction (MODEL.HIDDEN_SIZE, vitpcm.md §3.2), ≥ 1
    double dropout = 0.2;        // on the grid before the HV-BiLSTM and before the classifier (SOLVER.DROPOUT), [0, 1)
    double lstmDropout = 0.2;    // Keras LSTM input dropout (vitpcm.md §3.2), [0, 1)
    // ViT dropout in the training-mode passes (main branch and mosaic student), active even in
    // frozen blocks (vit-keras TransformerBlock, vitpcm.md §3.1), [0, 1). The studio's ViT also
    // drops after the position embedding (timm's drop_rate), which vit-keras does not.
    double vitDropout = 0.1;
    // Inference input side / training input side: the official 960 / 384 (IMAGE.SIZE.TEST,
    // vitpcm.md §7 step 1), rounded to whole patches, > 0. The maps come back at the input size.
    double inferScale = 2.5;
    // Which decides background in the pseudo-mask: "own" (the official BPM, vitpcm.md §7: the
    // argmax over the K+1 softmax, background included) or "rule" (not in ViT-PCM: the background
    // channel is dropped and the pseudo-label rule's threshold decides over the K class
    // probabilities, a threshold chosen on train data like any CAM's). Inference only.
    std::string pcmBackground = "own";
    double classifierInitStd = 0.05; // σ of the bias-free classifier's N(0, σ²) init (PC, vitpcm.md §3.3), > 0
    // L_reg = l2 · Σ W² over the classifier weights, added to the loss as Keras' kernel_regularizer
    // does (vitpcm.md §4.2); the optimiser itself has no weight decay. ≥ 0.
    double l2 = 0.01;
    // Learning rates (vitpcm.md §6): heads at lr (the warm-up's 1e-3), the backbone at
    // lr × backboneLrScale (the main phase's 1e-4). Constant, Adam, no weight decay.
    double lr = 1e-3;
    double backboneLrScale = 0.1;
    // Warm-up with the whole ViT frozen, as a fraction of the run's steps: the official 1 of 80
    // epochs (EPOCHS_WARMUP 1, EPOCHS 80). At least one step when > 0; 0 = no warm-up. [0, 1).
    double warmupFraction = 1.0 / 80.0;
    // After the warm-up the last unfreezeBlocks blocks and the final LayerNorm train
    // (NUM_BLOCK_UNFREEZE 5); 0 = unfreezeBlocksFraction of the depth, rounded, at least 1
    // (5 of 12; 2 of the demo's 4, 1 of the test backbone's 2).
    int unfreezeBlocks = 0;
    double unfreezeBlocksFraction = 5.0 / 12.0;
    bool equivariance = true;    // L_ET (LOSS_ET, vitpcm.md §4.3)
    // true: the student sees 2×2 mosaics of four transformed views (the official merged_step);
    // false: each transformed view alone (single-transform equivariance).
    bool mosaic = true;
    double etScale = 0.5;        // side of a transformed view / side of the input (192 / 384), (0, 1]
    double cropProbability = 0.3; // PROB_CROP (VOC 0.3, COCO 0), [0, 1]
    double cropFraction = 1.0 / 3.0; // crop side / input side (128 / 384 = 8 of 24 patches), (0, 1]
    double flipProbability = 0.5;  // each of the LR flip, UD flip and transpose of a view, [0, 1]

    static VitPcmConfig official() { return {}; }
    static VitPcmConfig paper();
    static VitPcmConfig fromJson(const nlohmann::json &json);
    nlohmann::json toJson() const;
    void validate() const;
    // Blocks trained after the warm-up on a backbone of `depth` blocks.
    int unfreezeBlocksFor(int depth) const;
    // Steps of warm-up in a run of `totalSteps` steps.
    std::int64_t warmupStepsFor(std::int64_t totalSteps) const;
    // Adam (AdamW with no weight decay), constant lr (Method::recipe()).
    TrainRecipe recipe() const;
};

} // namespace wsss::training
