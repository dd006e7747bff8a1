#include "vision/metrics/confusion_matrix.h"

#include "vision/core/error.h"
#include "vision/core/labels.h"
#include "vision/labels/pseudo_label_rule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace wsss::vision {

ConfusionMatrix::ConfusionMatrix(int numClasses)
    : m_n(numClasses), m_counts(static_cast<size_t>(numClasses) * numClasses, 0)
{
    if (numClasses <= 0 || numClasses > 255)
        throw Error("ConfusionMatrix: numClasses " + std::to_string(numClasses) + " is outside 1..255");
}

void ConfusionMatrix::add(const std::uint8_t *gt, const std::uint8_t *pred, std::size_t n)
{
    for (std::size_t i = 0; i < n; ++i)
        addCount(gt[i], pred[i], 1);
}

void ConfusionMatrix::addCount(int g, int p, std::uint64_t count)
{
    if (g >= m_n) // 255 and any label outside the class list are not scored
        return;
    if (p == kIgnoreLabel) {
        m_ignoredPredictions += count;
        return;
    }
    if (p >= m_n)
        throw Error("ConfusionMatrix: prediction " + std::to_string(p) + " is not a class index (0.." +
                    std::to_string(m_n - 1) + " or 255)");
    m_counts[static_cast<size_t>(g) * m_n + p] += count;
}

void ConfusionMatrix::merge(const ConfusionMatrix &other)
{
    if (other.m_n != m_n)
        throw Error("ConfusionMatrix::merge: class counts differ");
    for (size_t i = 0; i < m_counts.size(); ++i)
        m_counts[i] += other.m_counts[i];
    m_ignoredPredictions += other.m_ignoredPredictions;
}

SegmentationScores ConfusionMatrix::scores() const
{
    SegmentationScores s;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    s.iou.assign(m_n, nan);
    s.fpr.assign(m_n, nan);
    s.fnr.assign(m_n, nan);
    std::uint64_t total = 0, correct = 0;
    int present = 0;
    double sumIou = 0, sumFpr = 0, sumFnr = 0;
    for (int c = 0; c < m_n; ++c) {
        std::uint64_t row = 0, col = 0;
        for (int k = 0; k < m_n; ++k) {
            row += at(c, k);
            col += at(k, c);
        }
        const std::uint64_t tp = at(c, c), fn = row - tp, fp = col - tp;
        total += row;
        correct += tp;
        if (row == 0) // absent from the ground truth: not averaged (AFA's "scores")
            continue;
        const double denom = static_cast<double>(tp + fp + fn);
        s.iou[c] = tp / denom;
        s.fpr[c] = fp / denom;
        s.fnr[c] = fn / denom;
        sumIou += s.iou[c];
        sumFpr += s.fpr[c];
        sumFnr += s.fnr[c];
        ++present;
    }
    if (present > 0) {
        s.miou = sumIou / present;
        s.meanFpr = sumFpr / present;
        s.meanFnr = sumFnr / present;
    }
    s.pixelAccuracy = total ? static_cast<double>(correct) / total : 0.0;
    const std::uint64_t valid = total + m_ignoredPredictions;
    s.coverage = valid ? static_cast<double>(total) / valid : 1.0;
    return s;
}

ThresholdSweep::ThresholdSweep(int numClasses, int steps)
    : m_n(numClasses), m_steps(steps),
      m_bins(static_cast<size_t>(numClasses) * numClasses * (steps + 1), 0)
{
    if (steps <= 0)
        throw Error("ThresholdSweep: steps must be positive");
}

void ThresholdSweep::add(const std::uint8_t *gt, const float *maxScore, const std::uint8_t *argmaxClass, std::size_t n)
{
    // Thresholds are compared in float32 with ties to background, as the official evaluators do.
    auto thresholdF = [&](int i) { return static_cast<float>(static_cast<double>(i) / m_steps); };
    for (std::size_t i = 0; i < n; ++i) {
        const int g = gt[i], p = argmaxClass[i];
        if (g >= m_n || p >= m_n)
            continue;
        const float s = maxScore[i];
        int b = std::clamp(static_cast<int>(std::floor(static_cast<double>(s) * m_steps)) + 1, 0, m_steps);
        while (b > 0 && !(s > thresholdF(b - 1)))
            --b;
        while (b < m_steps && s > thresholdF(b))
            ++b;
        ++m_bins[(static_cast<size_t>(g) * m_n + p) * (m_steps + 1) + b];
    }
}

void ThresholdSweep::addMaps(const std::uint8_t *gt, const float *maps, int numMaps, const std::vector<int> &labels,
                             std::size_t n)
{
    const auto chosen = labelledMaps(maps, numMaps, labels, n);
    std::vector<float> best(n);
    std::vector<std::uint8_t> arg(n);
    maxAndArgmax(chosen.maps, chosen.classIds, n, best.data(), arg.data());
    add(gt, best.data(), arg.data(), n);
}

ConfusionMatrix ThresholdSweep::matrixAt(int t) const
{
    ConfusionMatrix cm(m_n);
    for (int g = 0; g < m_n; ++g)
        for (int p = 0; p < m_n; ++p)
            for (int b = 0; b <= m_steps; ++b)
                if (const auto count = m_bins[(static_cast<size_t>(g) * m_n + p) * (m_steps + 1) + b])
                    cm.addCount(g, b > t ? p : 0, count);
    return cm;
}

std::vector<double> ThresholdSweep::mious() const
{
    std::vector<double> out;
    for (int t = 0; t < m_steps; ++t)
        out.push_back(matrixAt(t).scores().miou);
    return out;
}

int ThresholdSweep::bestIndex(const std::vector<double> &m)
{
    int best = 0;
    for (int i = 1; i < static_cast<int>(m.size()); ++i)
        if (m[i] > m[best])
            best = i;
    return best;
}

} // namespace wsss::vision
