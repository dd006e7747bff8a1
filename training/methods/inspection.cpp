#include "training/methods/inspection.h"

#include <cmath>
#include <limits>

#include "vision/labels/pseudo_label_rule.h"

#include <algorithm>

namespace wsss::training {

namespace {

// The value planes of class maps of n values each and the class each writes (others skipped), as
// vision's byte rules take them.
vision::LabelledMaps planesOf(const std::vector<const ClassMap *> &maps, std::size_t n)
{
    vision::LabelledMaps planes;
    for (const ClassMap *m : maps)
        if (m && m->values.size() == n) {
            planes.maps.push_back(m->values.data());
            planes.classIds.push_back(m->classIndex);
        }
    return planes;
}

} // namespace

std::vector<float> AttentionLayer::row(int query, int head) const
{
    std::vector<float> out(static_cast<size_t>(tokens), 0.0f);
    if (query < 0 || query >= tokens || heads == 0)
        return out;
    const size_t plane = static_cast<size_t>(tokens) * tokens;
    const int first = head < 0 ? 0 : head;
    const int last = head < 0 ? heads : std::min(head + 1, heads);
    std::vector<float> logits(static_cast<size_t>(tokens));
    for (int h = first; h < last; ++h) {
        if (!probs.empty()) {
            const float *src = probs.data() + h * plane + static_cast<size_t>(query) * tokens;
            for (int j = 0; j < tokens; ++j)
                out[j] += src[j];
            continue;
        }
        // One row of softmax(scale · Q Kᵀ): tokens × headDim work, nothing else materialised.
        const size_t headBlock = static_cast<size_t>(tokens) * headDim;
        const float *q = queries.data() + h * headBlock + static_cast<size_t>(query) * headDim;
        const float *k = keys.data() + h * headBlock;
        float peak = -std::numeric_limits<float>::infinity();
        for (int j = 0; j < tokens; ++j) {
            double dot = 0;
            for (int d = 0; d < headDim; ++d)
                dot += static_cast<double>(q[d]) * k[static_cast<size_t>(j) * headDim + d];
            logits[j] = static_cast<float>(dot) * scale;
            peak = std::max(peak, logits[j]);
        }
        double sum = 0;
        for (int j = 0; j < tokens; ++j)
            sum += (logits[j] = std::exp(logits[j] - peak));
        for (int j = 0; j < tokens; ++j)
            out[j] += static_cast<float>(logits[j] / sum);
    }
    const float scale = 1.0f / static_cast<float>(std::max(1, last - first));
    for (float &v : out)
        v *= scale;
    return out;
}

int Inspection::patchTokenAt(double x, double y) const
{
    if (x < 0 || y < 0 || x >= imageWidth || y >= imageHeight || gridWidth == 0 || gridHeight == 0)
        return -1;
    const int col = std::min(gridWidth - 1, static_cast<int>(x / imageWidth * gridWidth));
    const int row = std::min(gridHeight - 1, static_cast<int>(y / imageHeight * gridHeight));
    return prefixTokens + row * gridWidth + col;
}

std::vector<float> AffinityMatrix::row(int patch) const
{
    if (patch < 0 || patch >= tokens || values.size() != static_cast<std::size_t>(tokens) * tokens)
        return {};
    const auto begin = values.begin() + static_cast<std::ptrdiff_t>(patch) * tokens;
    return {begin, begin + tokens};
}

const AffinityMatrix *Inspection::affinity(const std::string &kind) const
{
    for (const auto &a : affinities)
        if (a.kind == kind)
            return &a;
    return nullptr;
}

const ClassMap *Inspection::map(const std::string &kind, int classIndex) const
{
    for (const auto &m : maps)
        if (m.kind == kind && m.classIndex == classIndex)
            return &m;
    return nullptr;
}

std::vector<const ClassMap *> Inspection::labelledMaps(const std::string &kind) const
{
    const size_t n = static_cast<size_t>(imageWidth) * imageHeight;
    std::vector<const ClassMap *> out;
    for (int c : imageLabels)
        if (const ClassMap *m = map(kind, c); m && m->values.size() == n)
            out.push_back(m);
    return out;
}

const ClassMap *Inspection::ownBackground(const std::string &kind) const
{
    const ClassMap *b = map(kind, 0);
    return b && b->values.size() == static_cast<size_t>(imageWidth) * imageHeight ? b : nullptr;
}

std::vector<std::uint8_t> Inspection::pseudoMask(const std::string &kind, const vision::PseudoLabelRule &rule) const
{
    const size_t n = static_cast<size_t>(imageWidth) * imageHeight;
    const ClassMap *background = ownBackground(kind);
    if (!background)
        return applyMaskRule(rule, labelledMaps(kind), n);
    // Argmax over [background; labelled maps], ties to background (the CLI's rule for such kinds):
    // the best class where it beats the background.
    const auto planes = planesOf(labelledMaps(kind), n);
    std::vector<float> best(n);
    std::vector<std::uint8_t> mask(n, 0);
    vision::maxAndArgmax(planes.maps, planes.classIds, n, best.data(), mask.data());
    for (size_t i = 0; i < n; ++i)
        if (!(best[i] > background->values[i]))
            mask[i] = 0;
    return mask;
}

std::vector<std::uint8_t> applyMaskRule(const vision::PseudoLabelRule &rule, const std::vector<const ClassMap *> &maps, std::size_t n)
{
    const auto planes = planesOf(maps, n);
    std::vector<std::uint8_t> mask(n, 0);
    vision::applyPseudoLabelRule(rule, planes.maps, planes.classIds, n, mask.data());
    return mask;
}

std::vector<std::uint8_t> Inspection::pseudoMask(const std::string &kind, float bgThreshold) const
{
    const size_t n = static_cast<size_t>(imageWidth) * imageHeight;
    const auto planes = planesOf(labelledMaps(kind), n);
    std::vector<std::uint8_t> mask(n, 0);
    vision::applyBackgroundThreshold(planes.maps, planes.classIds, n, bgThreshold, mask.data());
    return mask;
}

} // namespace wsss::training
