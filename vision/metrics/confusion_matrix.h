#pragma once
// One confusion matrix accumulated over a whole evaluation set (METHODS.md §8.5).
// C[g][p] counts pixels with ground truth g and prediction p; ground truth 255 is skipped,
// and predictions of 255 (an ignore band) are dropped and counted as not covered.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wsss::vision {

struct SegmentationScores {
    double miou = 0;                 // mean IoU over the classes present in the ground truth
    std::vector<double> iou;         // per class; NaN where the class is absent from the GT
    std::vector<double> fpr, fnr;    // FP/(TP+FP+FN), FN/(TP+FP+FN) per class (USAGE's definition)
    double meanFpr = 0, meanFnr = 0; // over the same classes as miou
    double pixelAccuracy = 0;
    double coverage = 1;             // scored pixels / pixels with a valid ground truth
};

class ConfusionMatrix {
public:
    explicit ConfusionMatrix(int numClasses);

    // gt and pred: n labels each.
    void add(const std::uint8_t *gt, const std::uint8_t *pred, std::size_t n);
    // Adds `count` pixels of ground truth gt predicted as pred (same rules as add()).
    void addCount(int gt, int pred, std::uint64_t count);
    void merge(const ConfusionMatrix &other);
    std::uint64_t at(int gt, int pred) const { return m_counts[static_cast<size_t>(gt) * m_n + pred]; }
    int numClasses() const { return m_n; }
    SegmentationScores scores() const;

private:
    int m_n;
    std::vector<std::uint64_t> m_counts;
    std::uint64_t m_ignoredPredictions = 0;
};

// The background-threshold sweep (common.md §3.6): for t = 0, 1/steps, …, the mIoU of the
// rule "background where max_c M_c ≤ t, else argmax_c" over a set, in one pass per image by
// binning each pixel's max score per (GT class, argmax class).
class ThresholdSweep {
public:
    ThresholdSweep(int numClasses, int steps = 100);

    // gt: n labels. maxScore: n values max_c M_c in [0, 1]; argmaxClass: n class indices
    // (1..K) of that maximum.
    void add(const std::uint8_t *gt, const float *maxScore, const std::uint8_t *argmaxClass, std::size_t n);
    // One image's class maps: maps holds numMaps planes of n values, plane k for class k+1;
    // only the image's labelled classes (1..numMaps) compete, as in the background-threshold rule.
    void addMaps(const std::uint8_t *gt, const float *maps, int numMaps, const std::vector<int> &labels, std::size_t n);
    // The confusion matrix at threshold index i (t = i / steps).
    ConfusionMatrix matrixAt(int i) const;
    // mIoU per threshold index (100 confusion matrices: compute once), and the index of the best.
    std::vector<double> mious() const;
    static int bestIndex(const std::vector<double> &mious);
    double threshold(int i) const { return static_cast<double>(i) / m_steps; }
    int steps() const { return m_steps; }

private:
    int m_n, m_steps;
    // m_bins[(g * n + p) * (steps + 1) + b]: pixels with GT g, argmax p and b thresholds below
    // their max score (b = #{i : s > float(i / steps)}), so they are foreground at t iff t < b.
    std::vector<std::uint64_t> m_bins;
};

} // namespace wsss::vision
