#include "vision/metrics/refined_sweep.h"

#include "vision/core/error.h"

#include <cmath>
#include <string>

namespace wsss::vision {

RefinedThresholdSweep::RefinedThresholdSweep(int numClasses, const PseudoLabelRule &rule, double step)
    : m_rule(rule)
{
    if (!(step > 0 && step <= 1))
        throw Error("threshold sweep: step " + std::to_string(step) + " is not in (0, 1]");
    if (rule.background != BackgroundRule::Threshold)
        throw Error("threshold sweep: the rule must decide by a background threshold, not a band");
    m_rule.validate();
    // The grid in double, each point then as `--bg-threshold` parses it (a float of the same value).
    const int count = static_cast<int>(std::floor(1.0 / step + 1e-9));
    // The CRF reads the threshold as the background's share of each pixel: it must be above 0.
    for (int i = rule.crf ? 1 : 0; i <= count; ++i)
        m_thresholds.push_back(static_cast<float>(std::round(i * step * 1e6) / 1e6));
    m_matrices.assign(m_thresholds.size(), ConfusionMatrix(numClasses));
}

void RefinedThresholdSweep::addImage(const std::uint8_t *gt, const torch::Tensor &maps, const torch::Tensor &imageHW3,
                                     const std::vector<int> &labels)
{
    addPlanes(gt, refineLabelledPlanes(m_rule, maps, imageHW3, labels), imageHW3);
}

void RefinedThresholdSweep::addPlanes(const std::uint8_t *gt, const RefinedPlanes &planes, const torch::Tensor &imageHW3)
{
    const auto n = static_cast<std::size_t>(planes.maps.size(1) * planes.maps.size(2));
    // With the CRF, every threshold's marginals at once: the image's kernels are built once.
    const auto marginals = m_rule.crf && !planes.classIds.empty()
                               ? crfMarginalsAt(m_rule, planes.maps, imageHW3.to(planes.maps.device()), m_thresholds)
                               : torch::Tensor();
    PseudoLabelRule rule = m_rule;
    for (std::size_t i = 0; i < m_thresholds.size(); ++i) {
        rule.bgThreshold = m_thresholds[i];
        const auto mask = (marginals.defined() ? labelsFromMarginals(marginals[static_cast<std::int64_t>(i)], planes.classIds)
                                               : decideRefined(rule, planes, imageHW3))
                              .to(torch::kCPU)
                              .contiguous();
        m_matrices[i].add(gt, mask.data_ptr<std::uint8_t>(), n);
    }
}

std::vector<double> RefinedThresholdSweep::mious() const
{
    std::vector<double> out;
    for (const auto &m : m_matrices)
        out.push_back(m.scores().miou);
    return out;
}

} // namespace wsss::vision
