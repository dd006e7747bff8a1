#include "vision/maps/token_permutation.h"

#include "vision/core/error.h"

#include <torch/torch.h>

#include <vector>

namespace wsss::vision {

GridTransform gridTransformFromName(const std::string &name)
{
    if (name == "hflip")
        return GridTransform::HFlip;
    if (name == "vflip")
        return GridTransform::VFlip;
    if (name == "rot90")
        return GridTransform::Rot90;
    if (name == "rot180")
        return GridTransform::Rot180;
    if (name == "rot270")
        return GridTransform::Rot270;
    throw Error("unknown view transform \"" + name + "\" (known: hflip, vflip, rot90, rot180, rot270)");
}

std::string gridTransformName(GridTransform transform)
{
    switch (transform) {
    case GridTransform::HFlip: return "hflip";
    case GridTransform::VFlip: return "vflip";
    case GridTransform::Rot90: return "rot90";
    case GridTransform::Rot180: return "rot180";
    case GridTransform::Rot270: return "rot270";
    }
    return "?";
}

torch::Tensor applyGridTransform(const torch::Tensor &images, GridTransform transform)
{
    if (images.dim() < 2)
        throw Error("applyGridTransform: expected [..., H, W], got " + c10::str(images.sizes()));
    const std::int64_t h = images.dim() - 2, w = images.dim() - 1;
    switch (transform) {
    case GridTransform::HFlip: return images.flip({w});
    case GridTransform::VFlip: return images.flip({h});
    case GridTransform::Rot90: return images.rot90(1, {h, w});
    case GridTransform::Rot180: return images.rot90(2, {h, w});
    case GridTransform::Rot270: return images.rot90(3, {h, w});
    }
    return images;
}

torch::Tensor tokenPermutation(GridTransform transform, std::int64_t h, std::int64_t w)
{
    if (h <= 0 || w <= 0)
        throw Error("tokenPermutation: grid " + std::to_string(h) + "x" + std::to_string(w) + " is empty");
    std::vector<std::int64_t> pi(static_cast<std::size_t>(h * w));
    for (std::int64_t r = 0; r < h; ++r)
        for (std::int64_t c = 0; c < w; ++c) {
            std::int64_t to = 0;
            switch (transform) {
            case GridTransform::HFlip: to = r * w + (w - 1 - c); break;
            case GridTransform::VFlip: to = (h - 1 - r) * w + c; break;
            case GridTransform::Rot180: to = (h - 1 - r) * w + (w - 1 - c); break;
            // The turned grid has w rows of h: rot90 puts (r, c) at row w−1−c, column r.
            case GridTransform::Rot90: to = (w - 1 - c) * h + r; break;
            case GridTransform::Rot270: to = c * h + (h - 1 - r); break;
            }
            pi[static_cast<std::size_t>(r * w + c)] = to;
        }
    return torch::tensor(pi, torch::kLong);
}

} // namespace wsss::vision
