#include "vision/backbones/backbone.h"

#include <torch/torch.h>

namespace wsss::vision {

bool CaptureRequest::wants(int layer, int depth) const
{
    if (!attention)
        return false;
    if (layers.empty())
        return true;
    for (int l : layers)
        if ((l < 0 ? depth + l : l) == layer)
            return true;
    return false;
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

} // namespace wsss::vision
