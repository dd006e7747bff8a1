#include "vision/refine/random_walk.h"

#include "vision/core/error.h"

#include <ATen/ATen.h>

#include <limits>
#include <string>

namespace wsss::vision {
namespace {

} // namespace

void RandomWalkConfig::validate() const
{
    if (!(power > 0.0))
        throw Error("random walk: power " + std::to_string(power) + " must be positive");
    if (!(columnOffset >= 0.0))
        throw Error("random walk: columnOffset " + std::to_string(columnOffset) + " must be ≥ 0");
    if (steps < 0)
        throw Error("random walk: steps " + std::to_string(steps) + " is negative");
}

torch::Tensor radiusMask(std::int64_t height, std::int64_t width, std::int64_t radius, const torch::Device &device)
{
    if (height <= 0 || width <= 0)
        throw Error("radius mask: grid " + std::to_string(height) + "×" + std::to_string(width) + " is empty");
    // Row and column windows are tiny; their outer product is the [N, N] mask in one pass
    // (building it from [N, N] coordinate differences costs 10× more at 64×64).
    const auto options = torch::TensorOptions().dtype(torch::kLong).device(device);
    const auto near = [radius, &options](std::int64_t n) {
        const auto i = torch::arange(n, options);
        return (i.unsqueeze(1) - i.unsqueeze(0)).abs() <= radius;
    };
    const auto rows = near(height).view({height, 1, height, 1}), cols = near(width).view({1, width, 1, width});
    return rows.logical_and(cols).to(torch::kFloat).view({height * width, height * width});
}

torch::Tensor transitionMatrix(const torch::Tensor &affinity, std::int64_t height, std::int64_t width,
                               const RandomWalkConfig &config)
{
    config.validate();
    const std::int64_t n = height * width;
    if ((affinity.dim() != 2 && affinity.dim() != 3) || affinity.size(-1) != n || affinity.size(-2) != n)
        throw Error("random walk: affinity " + c10::str(affinity.sizes()) + " is not [B, N, N] or [N, N] with N = " +
                    std::to_string(height) + "×" + std::to_string(width) + " = " + std::to_string(n));
    auto a = affinity.is_floating_point() ? affinity : affinity.to(torch::kFloat);
    if (config.radius >= 0)
        a = a * radiusMask(height, width, config.radius, a.device()).to(a.scalar_type());
    a = a.pow(config.power);
    // Column j is divided by its own sum (the official AFA code; for a symmetric A it equals row
    // j's sum, but dividing rows instead gives other numbers — common.md §2.3).
    return a / (a.sum(-2, /*keepdim=*/true) + config.columnOffset);
}

torch::Tensor randomWalk(const torch::Tensor &seeds, const torch::Tensor &transition, int steps)
{
    if (seeds.dim() != 3 || (transition.dim() != 2 && transition.dim() != 3) ||
        transition.size(-2) != seeds.size(2) || transition.size(-1) != seeds.size(2) ||
        (transition.dim() == 3 && transition.size(0) != seeds.size(0)))
        throw Error("random walk: seeds " + c10::str(seeds.sizes()) + " and transition " + c10::str(transition.sizes()) +
                    " do not match (expected [B, K, N] and [B, N, N] or [N, N])");
    if (steps < 0)
        throw Error("random walk: steps " + std::to_string(steps) + " is negative");
    auto x = seeds.to(transition.scalar_type());
    for (int s = 0; s < steps; ++s)
        x = x.matmul(transition);
    return x;
}

torch::Tensor propagateWithBackground(const torch::Tensor &cams, const torch::Tensor &affinity,
                                      const torch::Tensor &classLabels, double bgScore, const RandomWalkConfig &config)
{
    if (cams.dim() != 4)
        throw Error("AFA propagation: cams must be [B, C, h, w], got " + c10::str(cams.sizes()));
    const std::int64_t B = cams.size(0), C = cams.size(1), h = cams.size(2), w = cams.size(3);
    if (classLabels.dim() != 2 || classLabels.size(0) != B || classLabels.size(1) != C)
        throw Error("AFA propagation: class labels " + c10::str(classLabels.sizes()) + " do not match cams " + c10::str(cams.sizes()) +
                    " (expected [B, C])");
    if (affinity.dim() != 3 || affinity.size(0) != B)
        throw Error("AFA propagation: affinity " + c10::str(affinity.sizes()) + " is not [B, N, N] for " +
                    std::to_string(B) + " images");
    const auto transition = transitionMatrix(affinity, h, w, config);
    const auto maps = cams.to(transition.scalar_type());
    auto seeds = torch::cat({torch::full({B, 1, h, w}, bgScore, maps.options()), maps}, 1).flatten(2);
    // Unlabelled classes are left out of the softmax (exp(−inf) = 0) and so stay 0 after the walk,
    // as the official code's valid-key selection does; no host round trip per image.
    const auto valid = torch::cat({torch::ones({B, 1}, torch::TensorOptions().dtype(torch::kBool).device(cams.device())),
                                   classLabels.to(cams.device()) > 0}, 1);
    seeds = seeds.masked_fill(valid.logical_not().unsqueeze(-1), -std::numeric_limits<double>::infinity()).softmax(1);
    return randomWalk(seeds, transition, config.steps).view({B, C + 1, h, w});
}

} // namespace wsss::vision
