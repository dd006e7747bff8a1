#pragma once
// Patch-permuting image transforms (flips and quarter turns) and the token permutation π that
// each one induces on a ViT's row-major patch grid (ACR's second view, methods/acr.md §5.2–5.3).
// Rule of use: compare a transformed view with the original by gathering the view's tokens with
// π (index_select), never by flipping slices in place.
#include <torch/types.h>

#include <string>

namespace wsss::vision {

enum class GridTransform {
    HFlip,  // mirror left-right
    VFlip,  // mirror top-bottom
    Rot90,  // a quarter turn counter-clockwise: torch.rot90(k=1, dims=(H, W))
    Rot180,
    Rot270, // three quarter turns counter-clockwise (one clockwise)
};

GridTransform gridTransformFromName(const std::string &name); // hflip | vflip | rot90 | rot180 | rot270
std::string gridTransformName(GridTransform transform);

// The transform applied to images (or maps) [..., H, W]; Rot90 and Rot270 swap H and W.
torch::Tensor applyGridTransform(const torch::Tensor &images, GridTransform transform);

// π for an h×w patch grid (row-major tokens t = r·w + c, as the original view has them):
// π[t] is the index of the same patch among the transformed view's tokens (whose grid is w×h
// after Rot90/Rot270). [h·w] int64. Flips and Rot180 are their own inverses.
//   hflip (r, w−1−c)   vflip (h−1−r, c)   rot180 (h−1−r, w−1−c)
//   rot90 (w−1−c, r) on the w×h grid      rot270 (c, h−1−r) on the w×h grid
torch::Tensor tokenPermutation(GridTransform transform, std::int64_t height, std::int64_t width);

} // namespace wsss::vision
