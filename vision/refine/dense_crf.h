#pragma once
// Fully connected CRF (Krähenbühl & Koltun) with a Gaussian and a bilateral Potts kernel,
// mean-field inference on permutohedral lattices, matching pydensecrf (METHODS.md §8.3,
// methods/common.md §1.2). The image is uint8 RGB, channels in that order: the lattice is not
// symmetric in its feature axes, so BGR gives other labels.
#include "vision/refine/dense_crf_params.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wsss::vision {

// Unary from probabilities: −ln(clip(p, kCrfProbabilityClip, 1)), not renormalised.
constexpr float kCrfProbabilityClip = 1e-5f;
// IRN's label CRF: probability of the given hard label (methods/common.md §1.3).
constexpr float kIrnGtProb = 0.7f;

// probs: [C, H, W] probabilities or non-negative scores, any floating dtype and device (read
// once on the CPU); image: [H, W, 3] uint8 RGB. Returns Q: [C, H, W] float32 on probs' device,
// a distribution over C at every pixel. Argmax over C (ties to the lowest index) gives labels.
at::Tensor denseCrf(const at::Tensor &probs, const at::Tensor &image, const DenseCrfParams &params = {});
// The same with the image as height × width × 3 bytes, row-major, RGB.
at::Tensor denseCrf(const at::Tensor &probs, const std::uint8_t *rgb, std::int64_t height, std::int64_t width,
                    const DenseCrfParams &params = {});

// Unary from hard labels (pydensecrf's unary_from_labels, zero_unsure off): −ln(gtProb) on the
// label, −ln((1 − gtProb)/(numLabels − 1)) elsewhere. labels: [H, W] integers in 0..numLabels−1,
// any device; numLabels ≥ 2; gtProb in (0, 1). Returns Q: [numLabels, H, W] float32 on labels' device.
at::Tensor denseCrfFromLabels(const at::Tensor &labels, std::int64_t numLabels, const at::Tensor &image,
                              const DenseCrfParams &params = {}, float gtProb = kIrnGtProb);
at::Tensor denseCrfFromLabels(const at::Tensor &labels, std::int64_t numLabels, const std::uint8_t *rgb,
                              std::int64_t height, std::int64_t width, const DenseCrfParams &params = {},
                              float gtProb = kIrnGtProb);

// The inference on plain buffers, pixel-major: unary and q are (height·width) × numLabels
// floats (pixel index y·W + x), rgb is height × width × 3. q = mean-field marginals.
void denseCrfMeanField(const float *unary, std::int64_t numLabels, const std::uint8_t *rgb, std::int64_t height,
                       std::int64_t width, const DenseCrfParams &params, float *q);

// The CRF on class maps with a constant background score (`wsss refine --crf`): the
// probabilities are P = [t; maps] / their sum at each pixel, the unary −log(max(P, 1e-5)).
// maps [K, H, W] (any device), imageHW3 uint8 RGB → Q [1 + K, H, W], channel 0 = background.
at::Tensor denseCrfWithBackground(const at::Tensor &maps, float backgroundScore, const at::Tensor &imageHW3,
                                  const DenseCrfParams &params = {});
// The same at each of several background scores, the image's kernels built once (they are about
// a quarter of a small image's CRF): → [T, 1 + K, H, W], entry t equal to
// denseCrfWithBackground(maps, backgroundScores[t], imageHW3, params).
at::Tensor denseCrfWithBackgrounds(const at::Tensor &maps, const std::vector<float> &backgroundScores,
                                   const at::Tensor &imageHW3, const DenseCrfParams &params = {});

} // namespace wsss::vision
