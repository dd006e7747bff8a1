#pragma once
// ViT-PCM's losses and the geometry of its equivariance branch (methods/vitpcm.md §4, §5): pure
// tensor functions, any device. Probabilities in, as the official Keras losses take them.
#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace wsss::training {

// L_MCE (vitpcm.md §4.1): Keras BinaryCrossentropy on probabilities, ŷ = clip(y, 1e-7, 1 − 1e-7),
// −[t·log(ŷ + 1e-7) + (1 − t)·log(1 − ŷ + 1e-7)], mean over classes then batch.
// scores, targets: [B, C] (background bit included in both).
torch::Tensor multilabelBceLoss(const torch::Tensor &scores, const torch::Tensor &targets);

// L_reg (vitpcm.md §4.2): coefficient · Σ W² (Keras L2 kernel regulariser).
torch::Tensor l2Loss(const torch::Tensor &weight, double coefficient);

// L_ET (vitpcm.md §4.3 step 6): Keras CategoricalCrossentropy on probabilities. R̂ = R / Σ_c R,
// clipped to [1e-7, 1 − 1e-7]; mean over batch and patches of −Σ_c Q_c·log R̂_c.
// student R, target Q: [B, C, h, w], Q summing to 1 or 0 per patch.
torch::Tensor equivarianceLoss(const torch::Tensor &student, const torch::Tensor &target);
// L_ET minus its minimum over the student, the target's own entropy (with the same clip): the KL
// divergence, 0 exactly when the student equals the target. Logged, never trained.
torch::Tensor equivarianceGap(const torch::Tensor &student, const torch::Tensor &target);

// One view's geometry (the official "affine" record, vitpcm.md §5 branch 2), in patch units:
// an optional crop (translation + scaling), the resize to the view's grid, then the LR flip, the
// UD flip and the transpose, in that order.
struct ViewGeometry {
    std::int64_t cropY = 0, cropX = 0;          // top-left of the crop, in patches
    std::int64_t cropHeight = 0, cropWidth = 0; // 0: no crop (the whole grid)
    bool flipLr = false, flipUd = false, transpose = false;

    bool isIdentity() const { return cropHeight == 0 && !flipLr && !flipUd && !transpose; }
};

// Applies each item's geometry to x [B, C, H, W] whose cells are `unit` pixels (1 for a patch
// map, the patch size for an image): crop, resize to outHeight × outWidth (bilinear,
// align_corners=True, TF1's resize in the official utils.py), flips, transpose. A transpose
// needs outHeight == outWidth. → [B, C, outHeight, outWidth].
torch::Tensor applyViewGeometry(const torch::Tensor &x, const std::vector<ViewGeometry> &geometries,
                                std::int64_t unit, std::int64_t outHeight, std::int64_t outWidth);

// The official 2×2 mosaics (vitpcm.md §4.3 step 5): tiles [B, C, h, w] → [⌈B/4⌉, C, 2h, 2w], item
// 4m top-left, 4m+1 top-right, 4m+2 bottom-left, 4m+3 bottom-right. A batch that is not a
// multiple of 4 is completed with its first items (the official code needs B % 4 == 0).
torch::Tensor makeMosaics(const torch::Tensor &tiles);
// The inverse: mosaics [M, C, 2h, 2w] → the first `count` tiles [count, C, h, w].
torch::Tensor splitMosaics(const torch::Tensor &mosaics, std::int64_t count);

} // namespace wsss::training
