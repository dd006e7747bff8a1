#include "vision/backbones/backbone.h"

#include "vision/core/error.h"

#include <torch/torch.h>

#include <string>

namespace wsss::vision {

bool CaptureRequest::wants(int layer, int depth) const
{
    if (!any())
        return false;
    if (layers.empty())
        return true;
    for (int l : layers)
        if ((l < 0 ? depth + l : l) == layer)
            return true;
    return false;
}

void DropRates::validate() const
{
    // A rate of 1 would divide the kept paths by zero.
    if (!(path >= 0.0 && path < 1.0))
        throw Error("drop-path rate " + std::to_string(path) + " is outside [0, 1)");
    if (!(dropout >= 0.0 && dropout < 1.0))
        throw Error("dropout rate " + std::to_string(dropout) + " is outside [0, 1)");
}

torch::Tensor BackboneOutput::patchFeatures() const
{
    auto patches = tokens.slice(1, prefixTokens); // [B, h*w, D]
    return patches.transpose(1, 2).reshape({tokens.size(0), tokens.size(2), gridHeight, gridWidth});
}

torch::Tensor BackboneOutput::prefix() const
{
    return tokens.slice(1, 0, prefixTokens);
}

torch::Tensor dropPath(const torch::Tensor &branch, double rate, bool training)
{
    if (!training || rate <= 0.0)
        return branch;
    const double keep = 1.0 - rate;
    std::vector<std::int64_t> shape(branch.dim(), 1);
    shape[0] = branch.size(0);
    auto mask = torch::empty(shape, branch.options()).bernoulli_(keep);
    return branch / keep * mask;
}

} // namespace wsss::vision
