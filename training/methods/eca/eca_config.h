#pragma once
// EcaConfig: ECA's settings (METHODS.md §5, methods/eca.md). ECA is AFA plus the class-aware
// affinity label (SAE: a frozen guider ViT's key graph spreads CAM seeds into CARMs) and the crop
// correspondence loss (CCE). Defaults are the official code's (Wu0409/ECA, train_final_voc.py);
// the paper's readings are switches, and `"preset": "paper"` sets them all. AFA's keys are taken
// beside ECA's, with ECA's schedule as their defaults.
#include "training/methods/afa/afa_method.h"
#include "vision/maps/class_prototypes.h"
#include "vision/maps/eca_carm.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace wsss::training {

struct EcaConfig {
    EcaConfig();
    static EcaConfig paper();

    // AFA's network, CAM labels, affinity head and decoder. ECA's schedule of 18000 steps scaled to
    // the run (eca.md §5): classification alone to 2000, the CAM seg label from the propagated
    // maps after 6000 (cls_only_fraction 2000/18000, seg_switch_fraction 6000/18000).
    AfaConfig afa;

    // ---- the guider (eca.md §7, App. A) ----
    // Weights of the frozen guider ViT: DINO weights as safetensors (DINO, timm or Hugging Face
    // names) or a project checkpoint (its backbone.*: a `wsss train --method dino` run). Read once
    // when a run starts; the checkpoint then carries the guider (guider.*).
    std::string guider;
    // The guider's preset; "" = the checkpoint's backbone when `guider` is a checkpoint, else the
    // official DINO ViT-S/8 ("dino_vit_small_patch8").
    std::string guiderBackbone;
    // The scales the guider sees the image at (official {1, 0.5} of the 512 crop: 64×64 and 32×32
    // patches at ViT-S/8; 16×16 and 8×8 on the demo's 128-px crop). The CARMs are fused on the
    // first scale's grid (official 64×64).
    std::vector<double> guiderScales{1.0, 0.5};
    vision::CarmConfig carm;           // seeds, thresholds, the foreground gate, background clamp
    vision::PrototypeConfig prototypes; // calibration and the momentum bank
    // "cam" (code): SAE's labels are the classes present in the CAM pseudo label; "gt" (paper):
    // the image labels.
    std::string saeLabels = "cam";

    // ---- losses and schedule (eca.md §5, §9.1) ----
    // AFA's seg_weight is λ1 of both L̃_seg (the CARM label) and L_seg (the CAM label, from
    // cce_start_fraction on); its aff_weight is λ3 of L_aff = share·AffLoss(CARM label) +
    // (1 − share)·AffLoss(CAM label).
    double affCarmShare = 0.5;   // the CARM label's share of L_aff (code ½; paper: CARM only, 1)
    double cceWeight = 0.1;      // λ2 of L_CCE (VOC 0.1, COCO 0.05)
    double cceStartFraction = 4000.0 / 18000.0; // L_seg(CAM) and L_CCE join after 4000 of 18000 steps

    // ---- CCE (eca.md §8) ----
    int cceCrops = 2;            // local crops per image (`patch_num`)
    // Crop side as a fraction of the training crop (official 256 of 512), rounded down to the
    // backbone's input multiple; the crop's CAMs are compared at side/cceDownscale (official 64×64).
    double cceCropFraction = 0.5;
    int cceDownscale = 4;
    // "abs_cosine" (code: |cos| of the K-d CAM vectors) or "js" (paper Eq. 11: similarity
    // 1 − JS/ln 2 of the softmax over classes).
    std::string cceLoss = "abs_cosine";
    // The crops' re-augmentation: torchvision ColorJitter(0.4, 0.4, 0.2, 0.1), RandomGrayscale(0.2),
    // horizontal flip 0.5.
    double jitterBrightness = 0.4, jitterContrast = 0.4, jitterSaturation = 0.2, jitterHue = 0.1;
    double grayscaleProbability = 0.2, flipProbability = 0.5;

    // The guider preset for a guider file (resolves guiderBackbone "").
    std::string resolvedGuiderBackbone() const;

    nlohmann::json toJson() const;
    static EcaConfig fromJson(const nlohmann::json &json);
    void validate() const;
};

} // namespace wsss::training
