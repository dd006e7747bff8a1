#pragma once
// The background-threshold sweep of refined pseudo-masks: each image's labelled maps are refined
// once (PAR depends on the image, not on the threshold), then at every threshold of a grid the
// rule decides over them (with the CRF: the CRF of [t; maps] per threshold). Each mask is the
// one `wsss infer --par --crf --bg-threshold t` writes for the same maps, so a threshold for a
// refined export is chosen on saved maps without running the network again.
#include "vision/labels/pseudo_label_maps.h"
#include "vision/labels/pseudo_label_rule.h"
#include "vision/metrics/confusion_matrix.h"

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace wsss::vision {

class RefinedThresholdSweep {
public:
    // `rule`: the refinement (PAR iterations, CRF) and the background rule Threshold; its own
    // threshold is replaced by each of the grid's. `step`: the grid 0, step, 2·step, …, 1
    // (from `step` with the CRF, whose background share must be above 0).
    RefinedThresholdSweep(int numClasses, const PseudoLabelRule &rule, double step);
    // The grid step a sweep of this rule uses unless told otherwise: 1/steps, or 0.05 with the
    // CRF (a CRF per image and threshold).
    static double defaultStep(const PseudoLabelRule &rule, int steps = 100) { return rule.crf ? 0.05 : 1.0 / steps; }

    // gt: H·W labels; maps [K, H, W] float (plane k scores class k+1); imageHW3 [H, W, 3]
    // uint8 RGB; labels: the image's classes (only they compete, as for `wsss infer`).
    void addImage(const std::uint8_t *gt, const torch::Tensor &maps, const torch::Tensor &imageHW3,
                  const std::vector<int> &labels);
    // The same for planes the caller refined with this sweep's rule (refineLabelledPlanes), e.g.
    // to decide its own mask from them too without running PAR again.
    void addPlanes(const std::uint8_t *gt, const RefinedPlanes &planes, const torch::Tensor &imageHW3);

    const std::vector<float> &thresholds() const { return m_thresholds; }
    std::vector<double> mious() const; // per threshold of the grid
    const ConfusionMatrix &matrixAt(std::size_t i) const { return m_matrices[i]; }

private:
    PseudoLabelRule m_rule;
    std::vector<float> m_thresholds;
    std::vector<ConfusionMatrix> m_matrices;
};

} // namespace wsss::vision
