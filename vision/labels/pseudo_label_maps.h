#pragma once
// The pseudo-label rule on tensors: the decision on [K, H, W] maps on any device, and the
// refinements (PAR, the dense CRF) the rule names. The rule itself is vision/labels/pseudo_label_rule.h.
#include "vision/labels/pseudo_label_rule.h"

#include <torch/types.h>

#include <vector>

namespace wsss::vision {

// maps [K, H, W] (plane k scores class classIds[k]) on any device → [H, W] uint8 labels on the
// same device. Only classes in `allowed` (the image's labelled classes) can win; background is
// always allowed. No refinement: see refineMaps.
torch::Tensor pseudoLabel(const PseudoLabelRule &rule, const torch::Tensor &maps, const std::vector<int> &classIds,
                          const std::vector<int> &allowed);

// The rule's refinements on maps [K, H, W] with their image [3, H, W] in [0, 1] (PAR when
// parIterations > 0, on the maps as given). Returns the maps unchanged when none is on.
torch::Tensor refineMaps(const PseudoLabelRule &rule, const torch::Tensor &image, const torch::Tensor &maps);

// The rule's dense CRF (`--crf` of refine and infer): the probabilities P = [bgThreshold; maps]
// normalised per pixel, the CRF of the rule's crf_preset (vision/refine/dense_crf.h). maps [K, H, W] on any
// device (usually after refineMaps), imageHW3 [H, W, 3] uint8 RGB → Q [1 + K, H, W] on maps'
// device, channel 0 = background.
torch::Tensor crfMarginals(const PseudoLabelRule &rule, const torch::Tensor &maps, const torch::Tensor &imageHW3);
// crfMarginals at each of several background thresholds (the rule's own is not read), the
// image's CRF kernels built once → [T, 1 + K, H, W], entry t as crfMarginals at thresholds[t].
torch::Tensor crfMarginalsAt(const PseudoLabelRule &rule, const torch::Tensor &maps, const torch::Tensor &imageHW3,
                             const std::vector<float> &thresholds);

// The labels of CRF marginals: argmax over q [1 + K, H, W] (ties to the lower channel), channel 0
// → 0 and channel k → classIds[k − 1] → [H, W] uint8 on q's device.
torch::Tensor labelsFromMarginals(const torch::Tensor &q, const std::vector<int> &classIds);

// An image's labelled planes after the rule's refinement: what the decision reads.
struct RefinedPlanes {
    torch::Tensor maps;        // [P, H, W] float, plane p scores class classIds[p]
    std::vector<int> classIds; // in the order of `allowed`
};
// maps [K, H, W] (plane k scores class k+1) with their image imageHW3 [H, W, 3] uint8 RGB: the
// planes of the classes in `allowed` (the image's labels; ids outside 1..K are skipped), refined
// by refineMaps. PAR depends on the image only, not on the threshold: a sweep refines once.
RefinedPlanes refineLabelledPlanes(const PseudoLabelRule &rule, const torch::Tensor &maps,
                                   const torch::Tensor &imageHW3, const std::vector<int> &allowed);
// The same on planes already chosen (the studio's inspection holds only the labelled ones):
// chosen.maps [P, H, W] refined by refineMaps with the image [H, W, 3] uint8 RGB.
RefinedPlanes refinePlanes(const PseudoLabelRule &rule, RefinedPlanes chosen, const torch::Tensor &imageHW3);
// The rule's decision over refined planes → [H, W] uint8: the CRF's argmax when rule.crf, else
// the threshold or band; all background when there is no plane. What `wsss infer` writes.
torch::Tensor decideRefined(const PseudoLabelRule &rule, const RefinedPlanes &planes, const torch::Tensor &imageHW3);

// The decision for a method that scores the background itself (ECA's CARMs, ViT-PCM, AFA's seg
// and aff, supervised): background [H, W] and planes.maps [P, H, W] (unrefined) refined together
// by the rule (PAR on [background; planes], then the CRF on them normalised per pixel; the rule's
// threshold and band are not read), then the argmax, ties to background → [H, W] uint8 on the
// maps' device, plane p → planes.classIds[p]. What `wsss infer` writes and the studio shows.
torch::Tensor decideWithOwnBackground(const PseudoLabelRule &rule, const torch::Tensor &background,
                                      const RefinedPlanes &planes, const torch::Tensor &imageHW3);

} // namespace wsss::vision
