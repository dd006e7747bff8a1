#include "training/methods/vitpcm/vitpcm_losses.h"

#include "vision/core/error.h"

#include <torch/torch.h>

namespace wsss::training {

namespace F = torch::nn::functional;

namespace {

constexpr double kEpsilon = 1e-7; // Keras backend epsilon (vitpcm.md §4.1, §10)

torch::Tensor clippedDistribution(const torch::Tensor &p)
{
    const auto sum = p.sum(1, true);
    return (p / sum).clamp(kEpsilon, 1.0 - kEpsilon);
}

} // namespace

torch::Tensor multilabelBceLoss(const torch::Tensor &scores, const torch::Tensor &targets)
{
    if (scores.sizes() != targets.sizes() || scores.dim() != 2)
        throw Error("vitpcm: BCE scores " + c10::str(scores.sizes()) + " and targets " + c10::str(targets.sizes()) +
                    ", expected two equal [B, C]");
    const auto y = scores.clamp(kEpsilon, 1.0 - kEpsilon);
    const auto t = targets.to(y.scalar_type());
    const auto bce = -(t * (y + kEpsilon).log() + (1 - t) * (1 - y + kEpsilon).log());
    return bce.mean(1).mean();
}

torch::Tensor l2Loss(const torch::Tensor &weight, double coefficient)
{
    return coefficient * weight.pow(2).sum();
}

torch::Tensor equivarianceLoss(const torch::Tensor &student, const torch::Tensor &target)
{
    if (student.sizes() != target.sizes() || student.dim() != 4)
        throw Error("vitpcm: equivariance student " + c10::str(student.sizes()) + " and target " +
                    c10::str(target.sizes()) + ", expected two equal [B, C, h, w]");
    return -(target * clippedDistribution(student).log()).sum(1).mean();
}

torch::Tensor equivarianceGap(const torch::Tensor &student, const torch::Tensor &target)
{
    const auto entropy = -(target * target.clamp(kEpsilon, 1.0 - kEpsilon).log()).sum(1).mean();
    return equivarianceLoss(student, target) - entropy;
}

torch::Tensor applyViewGeometry(const torch::Tensor &x, const std::vector<ViewGeometry> &geometries,
                                std::int64_t unit, std::int64_t outHeight, std::int64_t outWidth)
{
    if (x.dim() != 4 || x.size(0) != static_cast<std::int64_t>(geometries.size()) || unit < 1)
        throw Error("vitpcm: view geometry of " + c10::str(x.sizes()) + " with " + std::to_string(geometries.size()) +
                    " geometries, expected [B, C, H, W] and one per item");
    std::vector<torch::Tensor> items;
    for (std::int64_t b = 0; b < x.size(0); ++b) {
        const auto &g = geometries[static_cast<std::size_t>(b)];
        auto item = x.slice(0, b, b + 1);
        if (g.cropHeight > 0) {
            if (g.cropY < 0 || g.cropX < 0 || (g.cropY + g.cropHeight) * unit > x.size(2) ||
                (g.cropX + g.cropWidth) * unit > x.size(3))
                throw Error("vitpcm: crop at (" + std::to_string(g.cropY) + ", " + std::to_string(g.cropX) + ") of " +
                            std::to_string(g.cropHeight) + "×" + std::to_string(g.cropWidth) + " patches leaves " +
                            c10::str(x.sizes()));
            item = item.slice(2, g.cropY * unit, (g.cropY + g.cropHeight) * unit)
                       .slice(3, g.cropX * unit, (g.cropX + g.cropWidth) * unit);
        }
        if (item.size(2) != outHeight || item.size(3) != outWidth)
            item = F::interpolate(item, F::InterpolateFuncOptions()
                                            .size(std::vector<std::int64_t>{outHeight, outWidth})
                                            .mode(torch::kBilinear)
                                            .align_corners(true));
        if (g.flipLr)
            item = item.flip({3});
        if (g.flipUd)
            item = item.flip({2});
        if (g.transpose) {
            if (outHeight != outWidth)
                throw Error("vitpcm: a transpose needs a square view, got " + std::to_string(outHeight) + "×" +
                            std::to_string(outWidth));
            item = item.transpose(2, 3);
        }
        items.push_back(item);
    }
    return torch::cat(items, 0).contiguous();
}

torch::Tensor makeMosaics(const torch::Tensor &tiles)
{
    const auto B = tiles.size(0);
    const auto M = (B + 3) / 4;
    auto all = tiles;
    if (M * 4 != B) {
        const auto index = torch::arange(M * 4, torch::TensorOptions().dtype(torch::kLong).device(tiles.device())) % B;
        all = tiles.index_select(0, index);
    }
    // [M, 2 (row), 2 (col), C, h, w] → [M, C, 2, h, 2, w] → [M, C, 2h, 2w]
    const auto C = tiles.size(1), h = tiles.size(2), w = tiles.size(3);
    return all.view({M, 2, 2, C, h, w}).permute({0, 3, 1, 4, 2, 5}).reshape({M, C, 2 * h, 2 * w});
}

torch::Tensor splitMosaics(const torch::Tensor &mosaics, std::int64_t count)
{
    const auto M = mosaics.size(0), C = mosaics.size(1), h = mosaics.size(2) / 2, w = mosaics.size(3) / 2;
    if (mosaics.size(2) % 2 || mosaics.size(3) % 2 || count > 4 * M)
        throw Error("vitpcm: cannot split " + c10::str(mosaics.sizes()) + " into " + std::to_string(count) + " tiles");
    return mosaics.view({M, C, 2, h, 2, w}).permute({0, 2, 4, 1, 3, 5}).reshape({4 * M, C, h, w}).slice(0, 0, count);
}

} // namespace wsss::training
