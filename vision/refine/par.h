#pragma once
// PAR, pixel-adaptive refinement (AFA, CVPR 2022; METHODS.md §8.1, methods/afa.md §6): class
// maps are smoothed T times with fixed per-pixel weights over 8 neighbours at each dilation,
// weighted by colour similarity plus a small position term. As in the official code the
// weights sum to 1 + w2 = 1.01, so maps grow by 1.01 per iteration; argmax is unaffected.
// CPU float tensors take a threaded loop; any other device the same sums as tensor ops.
#include <torch/types.h>

#include <array>
#include <vector>

namespace wsss::vision {

struct ParConfig {
    std::vector<int> dilations{1, 2, 4, 8, 12, 24}; // pixels, in the official order (afa.md §6)
    int iterations = 10;                            // 10 for VOC, 15 for AFA COCO and the paper
    double w1 = 0.3;                                // temperature of the colour and position terms
    double w2 = 0.01;                               // weight of the position softmax (the paper's w3)

    int neighbours() const { return 8 * static_cast<int>(dilations.size()); }
    void validate() const; // wsss::Error naming the field
};

// Dilations set for one image scale, for another: each d × factor rounded to the nearest pixel,
// at least 1, and a dilation already in the list dropped (two rings at one distance only weigh
// it twice). factor 1 gives the list unchanged. E.g. AFA's {1, 2, 4, 8, 12, 24} (half of a 512-px
// crop) at a 128-px crop, factor 64/256: {1, 2, 3, 6}.
std::vector<int> scaledDilations(const std::vector<int> &dilations, double factor);

// The neighbour offsets (dy, dx): per dilation d, (−1,−1) (−1,0) (−1,1) (0,−1) (0,1) (1,−1)
// (1,0) (1,1) times d; neighbour n = 8·index(d) + k. The centre is not a neighbour.
std::vector<std::array<int, 2>> parOffsets(const std::vector<int> &dilations);

// The position term: softmax over n of −(dist_n / (σ + 1e-8) / w1)², dist = d or d·√2, σ the
// unbiased std of the distances (9.900305 for the default dilations). [N] float64 on the CPU.
torch::Tensor parPositionWeights(const ParConfig &config);

// κ from an image [B, 3, H, W] in [0, 1] → [B, N, H, W] float: softmax over n of the mean over
// channels of −(|I_n − I_centre| / (σ_c + 1e-8) / w1)² (σ_c the unbiased std of the channel's
// N neighbours), plus w2 × the position weights. Outside the image, coordinates are clamped.
torch::Tensor parKernel(const torch::Tensor &image, const ParConfig &config);

// config.iterations times X(y, x) ← Σ_n κ_n(y, x) · X(neighbour n of (y, x)).
// kernel [B, N, H, W], maps [B, K, H, W] → [B, K, H, W] float.
torch::Tensor parPropagate(const torch::Tensor &kernel, const torch::Tensor &maps, const ParConfig &config);

// The whole of PAR: maps [B, K, h, w] are resized to the image's H × W (bilinear,
// align_corners=true, as the official code), then refined with the image's kernel.
torch::Tensor refineWithPar(const torch::Tensor &image, const torch::Tensor &maps, const ParConfig &config = {});

// The device-generic implementations that parKernel and parPropagate use off the CPU; public so
// that tests can hold the two paths to the same numbers.
torch::Tensor parKernelTensorOps(const torch::Tensor &image, const ParConfig &config);
torch::Tensor parPropagateTensorOps(const torch::Tensor &kernel, const torch::Tensor &maps, const ParConfig &config);

} // namespace wsss::vision
