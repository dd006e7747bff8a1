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
// normalised per pixel, PSA-CRF parameters (vision/refine/dense_crf.h). maps [K, H, W] on any
// device (usually after refineMaps), imageHW3 [H, W, 3] uint8 RGB → Q [1 + K, H, W] on maps'
// device, channel 0 = background.
torch::Tensor crfMarginals(const PseudoLabelRule &rule, const torch::Tensor &maps, const torch::Tensor &imageHW3);

// The labels of CRF marginals: argmax over q [1 + K, H, W] (ties to the lower channel), channel 0
// → 0 and channel k → classIds[k − 1] → [H, W] uint8 on q's device.
torch::Tensor labelsFromMarginals(const torch::Tensor &q, const std::vector<int> &classIds);

} // namespace wsss::vision
