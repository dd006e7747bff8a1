#include "vision/maps/cam.h"

#include "vision/core/error.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace wsss::vision {

namespace F = torch::nn::functional;

Pooling poolingFromName(const std::string &name)
{
    if (name == "gmp")
        return Pooling::Max;
    if (name == "gap")
        return Pooling::Average;
    if (name == "topk")
        return Pooling::TopK;
    throw Error("unknown pooling \"" + name + "\" (known: gmp, gap, topk)");
}

std::string poolingName(Pooling pooling)
{
    switch (pooling) {
    case Pooling::Max: return "gmp";
    case Pooling::Average: return "gap";
    case Pooling::TopK: return "topk";
    }
    return "gmp";
}

torch::Tensor globalPool(const torch::Tensor &features, Pooling pooling, double topkFraction)
{
    auto flat = features.flatten(2); // [B, D, h*w]
    switch (pooling) {
    case Pooling::Max:
        return std::get<0>(flat.max(2));
    case Pooling::Average:
        return flat.mean(2);
    case Pooling::TopK: {
        const auto n = flat.size(2);
        const auto k = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(topkFraction * n)), 1, n);
        return std::get<0>(flat.topk(k, 2)).mean(2);
    }
    }
    throw Error("globalPool: bad pooling");
}

torch::Tensor classActivationMaps(const torch::Tensor &features, const torch::Tensor &weights)
{
    auto w = weights.dim() == 4 ? weights.flatten(1) : weights; // [C, D]
    if (w.dim() != 2 || w.size(1) != features.size(1))
        throw Error("classActivationMaps: weights " + c10::str(weights.sizes()) + " do not match features " +
                    c10::str(features.sizes()));
    return torch::einsum("cd,bdhw->bchw", {w, features});
}

torch::Tensor normalizeMaps(const torch::Tensor &maps, double eps)
{
    auto r = torch::relu(maps);
    auto peak = std::get<0>(r.flatten(2).max(2)).unsqueeze(-1).unsqueeze(-1);
    return r / (peak + eps);
}

torch::Tensor normalizeMapsMinMax(const torch::Tensor &maps, double eps)
{
    auto flat = maps.flatten(2);
    auto low = std::get<0>(flat.min(2)).unsqueeze(-1).unsqueeze(-1);
    auto high = std::get<0>(flat.max(2)).unsqueeze(-1).unsqueeze(-1);
    return (maps - low) / (high - low + eps);
}

torch::Tensor resizeMaps(const torch::Tensor &maps, std::int64_t height, std::int64_t width)
{
    if (maps.size(2) == height && maps.size(3) == width)
        return maps;
    return F::interpolate(maps, F::InterpolateFuncOptions()
                                    .size(std::vector<std::int64_t>{height, width})
                                    .mode(torch::kBilinear)
                                    .align_corners(false));
}

} // namespace wsss::vision
