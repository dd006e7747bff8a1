#pragma once
// ECA's class-aware affinity region maps, CARM (ACM MM 2024; METHODS.md §5, methods/eca.md §7):
// the keys of a frozen DINO's last block give a cosine graph G over the patches; each labelled
// class takes its most confident CAM patches as seeds, and a patch's CARM value is how many seeds
// it is strongly connected to (G > γ), gated for foreground classes by the cosine of the CLS
// query with the patch's key. Background is channel 0 and always present. The official code's
// order and constants are the defaults; the paper's formulas are switches. Pure tensor
// functions, any device: the per-class and per-image work is batched, with no host round trip.
// Calibration by class prototypes is in class_prototypes.h.
#include "vision/refine/par.h"

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace wsss::vision {

struct CarmConfig {
    double seedFraction = 0.3;        // top-k fraction of a class's assigned patches (eca.md §7 step 5; paper k)
    double affinityThreshold = 0.15;  // γ_fg: a seed reaches a patch when G > γ (`thres_patch_token`)
    double bgAffinityThreshold = 0.15; // γ_bg, the same for background seeds (`thres_bg_token`)
    double cueThreshold = -0.5;       // τ_cls: foreground only where the CLS cue > τ_cls (`thres_cls_token`)
    double assignmentBackground = 0.45; // constant background score of the seed assignment I_cam (step 0)
    double bgClampLow = 0.1;          // the fused background map is clamped to [low, high] (`thres_bg_aff_l/h`)
    double bgClampHigh = 0.6;
    bool softCue = false;       // paper Eq. 5/7: multiply by the cosine cue instead of the binary gate
    bool paperAssignment = false; // paper Eq. 2–3: I_cam's background is 1 − max_c M_c, not the constant
    // Not in ECA: the keys minus their mean over the image's patches before the graph and the cue
    // (guiderKeys). The thresholds above are cosines of a 12-block DINO ViT-S/8, whose unrelated
    // patches' keys are near orthogonal; a small or briefly trained guider's keys share one large
    // direction (cosine > 0.15 between most pairs), so every seed reaches every patch. Centred,
    // a cosine says whether two patches differ from the image's average the same way, and the
    // cue whether the CLS query prefers a patch to the average one.
    bool centerKeys = false;
    // The official seed count round(fraction·n) + 1 gives a class (or the background) that wins
    // no patch of the assignment one seed all the same: the first of equal zeros, the top-left
    // patch, so its CARM is whatever resembles that corner (usually background). false: no seed,
    // an empty CARM. Not in ECA; on the demo it is a labelled class whose CAM is empty.
    bool seedUnassigned = true;

    void validate() const; // wsss::Error naming the field
};

// The seed count of a class with n assigned non-zero patches: round(fraction·n) + 1, rounding
// half to even as Python's round (n = 5 → 3, n = 15 → 5; n = 0 → 1).
std::int64_t carmSeedCount(std::int64_t assigned, double fraction);

// The keys the graph and the cue read: as given, or with centerKeys minus their mean over the N
// patches of each image. keys [B, N, D].
torch::Tensor guiderKeys(const torch::Tensor &keys, const CarmConfig &config);

// G = f fᵀ with f = k / max(‖k‖, 1e-12): keys [B, N, D] (patch tokens only, heads concatenated)
// → [B, N, N] float cosines.
torch::Tensor keyAffinity(const torch::Tensor &keys);

// The foreground cue a_j = cos(q_CLS, k_j): clsQuery [B, D], keys [B, N, D] → [B, N].
torch::Tensor clsForegroundCue(const torch::Tensor &clsQuery, const torch::Tensor &keys);

// The seed inputs of one scale on a gridH × gridW grid (eca.md §7 steps 0 and 2), from
// cams [B, K, H, W] in [0, 1] (all K classes, not label-masked), labels [B, K] (0/1: ŷ) and
// box [B, H, W] bool (true = real image; undefined = everywhere):
//   scores [B, K+1, gridH, gridW]: channel 0 = 1 − max over all K maps (0 outside the box),
//     channel c = M_c, downsampled bilinearly (align_corners=false);
//   assignment [B, gridH, gridW] int64: argmax over [0.45; ŷ_c·M_c] downsampled the same way
//     (ties to the lower channel).
struct CarmSeedInputs {
    torch::Tensor scores;
    torch::Tensor assignment;
};
CarmSeedInputs carmSeedInputs(const torch::Tensor &cams, const torch::Tensor &labels, const torch::Tensor &box,
                              std::int64_t gridH, std::int64_t gridW, const CarmConfig &config = {});

// Seeds per class (step 5): V_c = scores_c ⊙ [assignment = c]; n = its non-zero count; the
// carmSeedCount(n) largest entries of V_c (ties to the lower patch index) are seeds; with
// seedUnassigned false a class with n = 0 has none (CarmConfig::seedUnassigned).
// scores [B, C, N], assignment [B, N] → seeds [B, C, N] bool.
torch::Tensor carmSeeds(const torch::Tensor &scores, const torch::Tensor &assignment, double fraction,
                        bool seedUnassigned = true);

// R_c(j) = #{seeds i of c : G(i, j) > γ}, times the cue gate [a_j > τ_cls] for c ≥ 1 (or the cue
// itself with softCue), then per (image, class) (R − min)/(max(R − min) + 1e-5); classes with
// present_c = 0 are 0. affinity [B, N, N], seeds [B, C, N], cue [B, N], present [B, C] (channel
// 0 = background, normally 1) → [B, C, N] float.
torch::Tensor classAwareAffinity(const torch::Tensor &affinity, const torch::Tensor &seeds, const torch::Tensor &cue,
                                 const torch::Tensor &present, const CarmConfig &config = {});

// One scale of SAE end to end: the seed inputs on the keys' grid, the graph, the cue, the seeds
// and the normalised counts. keys [B, gridH·gridW, D] and clsQuery [B, D] come from the guider's
// last block on the image resized for this scale; cams, labels and box as carmSeedInputs.
// → [B, K+1, gridH, gridW], background (always present) at channel 0.
torch::Tensor carmAtScale(const torch::Tensor &cams, const torch::Tensor &labels, const torch::Tensor &box,
                          const torch::Tensor &keys, const torch::Tensor &clsQuery, std::int64_t gridH,
                          std::int64_t gridW, const CarmConfig &config = {});

// Scale fusion: each [B, C, g_s, g_s] map upsampled to height × width (bilinear,
// align_corners=false), summed, min-max normalised again (+1e-5); then the background channel
// is clamped to [bgClampLow, bgClampHigh]. Calibration (class_prototypes.h) touches only the
// foreground channels, so it may run before or after this clamp. → [B, C, height, width].
torch::Tensor fuseCarmScales(const std::vector<torch::Tensor> &scales, std::int64_t height, std::int64_t width,
                             const CarmConfig &config = {});

// The CARM label (eca.md §7, "Refine and label"): carm [B, C, h, w] resized to the PAR image's
// size (bilinear, align_corners=false), refined by PAR with image [B, 3, h', w'] in [0, 1],
// resized to height × width, arg-max over C (channel c → label c), 255 outside box [B, height,
// width] (undefined = everywhere). No ignore band. → [B, height, width] uint8.
torch::Tensor carmPseudoLabel(const torch::Tensor &carm, const torch::Tensor &image, const torch::Tensor &box,
                              std::int64_t height, std::int64_t width, const ParConfig &par = {});

} // namespace wsss::vision
