#pragma once
// Patch-class maps of ViT-PCM (Rossetti et al., ECCV 2022; METHODS.md §4, methods/vitpcm.md §3.3,
// §4.3 step 4, §7): every patch gets a softmax over C = K + 1 classes, background included at
// channel 0, so the maps need no background threshold. With the image's labels known, absent
// classes are zeroed, each present class is rescaled to a spatial maximum of 1 and every patch is
// renormalised (the official `merge_class_labels`); the arg-max of the upsampled result is the
// baseline pseudo-mask (BPM). Pure tensor functions, any device.
#include <torch/types.h>

#include <cstdint>

namespace wsss::vision {

// Patch tokens [B, h·w, C] in row-major order (index = row·w + col) → [B, C, h, w].
torch::Tensor patchTokensToGrid(const torch::Tensor &tokens, std::int64_t height, std::int64_t width);

// Z = softmax over the C classes of every patch. logits [B, C, h, w] (C ≥ 2, background at
// channel 0) → [B, C, h, w] float, each patch summing to 1.
torch::Tensor patchClassMaps(const torch::Tensor &logits);

// The class vector t of the image labels: [B, K] foreground labels (0/1) → [B, K + 1] with the
// background bit t_0 = 1 (vitpcm.md §4.1 [interp]: the studio's labels carry no background).
torch::Tensor withBackgroundBit(const torch::Tensor &foregroundLabels);

// merge_class_labels (vitpcm.md §4.3 step 4): Z₁ = Z ⊙ t; Z₂ᶜ = Z₁ᶜ / max over the grid of Z₁ᶜ;
// Q = Z₂ / Σ_c Z₂ᶜ per patch, with 0/0 → 0 in both divisions (an absent class, a present class
// whose map is all zero, a patch where every present class is zero).
// maps [B, C, h, w] ≥ 0, labels [B, C] of 0/1 including the background bit → [B, C, h, w] float.
torch::Tensor labelMaskedPatchClassMaps(const torch::Tensor &maps, const torch::Tensor &labels);

// The BPM (vitpcm.md §7 step 4): maps [B, C, h, w] resized to height × width (bilinear,
// align_corners=true, as TF1's resize in the official code), arg-max over C with ties to the
// lowest channel → [B, height, width] int64 labels, 0 = background.
torch::Tensor patchClassPseudoMask(const torch::Tensor &maps, std::int64_t height, std::int64_t width);

} // namespace wsss::vision
