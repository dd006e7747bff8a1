#include "vision/maps/multi_scale.h"

#include "vision/core/error.h"
#include "vision/maps/cam.h"

#include <torch/nn/functional/upsampling.h>

#include <algorithm>
#include <cmath>

namespace wsss::vision {

namespace F = torch::nn::functional;

void MultiScaleConfig::validate() const
{
    if (scales.empty())
        throw Error("multi-scale maps: no scale given");
    for (double s : scales)
        if (!(s > 0) || !std::isfinite(s))
            throw Error("multi-scale maps: scale " + std::to_string(s) + " must be positive");
    if (sizeMultiple <= 0)
        throw Error("multi-scale maps: size multiple " + std::to_string(sizeMultiple) + " must be positive");
}

std::int64_t scaledSide(std::int64_t side, double scale, int multiple)
{
    const auto raw = static_cast<std::int64_t>(scale * static_cast<double>(side));
    const auto rounded = static_cast<std::int64_t>(std::llround(static_cast<double>(raw) / multiple)) * multiple;
    return std::max<std::int64_t>(multiple, rounded);
}

torch::Tensor multiScaleMaps(const std::function<torch::Tensor(const torch::Tensor &)> &mapsOf,
                             const torch::Tensor &images, const MultiScaleConfig &config)
{
    config.validate();
    const auto B = images.size(0), H = images.size(2), W = images.size(3);
    const auto outH = config.outputHeight > 0 ? config.outputHeight : H;
    const auto outW = config.outputWidth > 0 ? config.outputWidth : W;
    torch::Tensor merged;
    for (double s : config.scales) {
        const auto h = scaledSide(H, s, config.sizeMultiple), w = scaledSide(W, s, config.sizeMultiple);
        auto x = (h == H && w == W) ? images
                                    : F::interpolate(images, F::InterpolateFuncOptions()
                                                                 .size(std::vector<std::int64_t>{h, w})
                                                                 .mode(torch::kBilinear)
                                                                 .align_corners(false));
        if (config.flip)
            x = torch::cat({x, x.flip({3})}, 0);
        auto maps = resizeMaps(mapsOf(x), outH, outW);
        if (config.flip) {
            auto mirrored = maps.slice(0, B).flip({3});
            maps = maps.slice(0, 0, B);
            if (config.merge == FlipMerge::Max)
                maps = torch::maximum(maps, mirrored);
            else
                maps = config.merge == FlipMerge::Sum ? maps + mirrored : (maps + mirrored) / 2;
        }
        if (config.relu)
            maps = torch::relu(maps);
        if (!merged.defined())
            merged = maps;
        else
            merged = config.scaleMerge == ScaleMerge::Sum ? merged + maps : torch::maximum(merged, maps);
    }
    return config.normalize ? normalizeMapsMinMax(merged, 1e-5) : merged;
}

} // namespace wsss::vision
