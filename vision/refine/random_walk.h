#pragma once
// Random-walk propagation of class seeds over a token affinity (METHODS.md §8.2; common.md §2,
// methods/afa.md §8). The transition is column-normalised: T[i, j] = A^β[i, j] / (Σ_i A^β[i, j]
// + offset), and seeds walk as row vectors, x ← x·T. With offset 0 every column sums to 1
// (PSA, IRN); AFA adds 0.1, so its columns sum to s/(s + 0.1) < 1. Dense [N, N] tensors on any
// device: meant for token grids (32×32, 48×48, 64×64), not for pixels.
#include <torch/types.h>

#include <cstdint>

namespace wsss::vision {

struct RandomWalkConfig {
    std::int64_t radius = 8;   // Chebyshev window in tokens (afa.md §9.1); < 0 keeps every pair
    double power = 2.0;        // β: the affinity is raised to it elementwise (AFA 2, PSA 8, IRN 10)
    double columnOffset = 0.1; // added to each column sum before dividing (AFA 0.1; PSA/IRN 0)
    int steps = 1;             // multiplications by T (AFA 1; PSA/IRN 256)

    void validate() const; // wsss::Error naming the field
};

// [N, N] float, N = height·width tokens in row-major order: 1 where |y_i − y_j| ≤ radius and
// |x_i − x_j| ≤ radius (the diagonal included), else 0.
torch::Tensor radiusMask(std::int64_t height, std::int64_t width, std::int64_t radius,
                         const torch::Device &device = torch::kCPU);

// affinity [B, N, N] or [N, N] (non-negative) → T of the same shape: masked to the window of
// config.radius on a height × width grid, raised to config.power, column-normalised.
torch::Tensor transitionMatrix(const torch::Tensor &affinity, std::int64_t height, std::int64_t width,
                               const RandomWalkConfig &config);

// seeds [B, K, N] walk config.steps times: x ← x·T. transition [B, N, N] or [N, N].
torch::Tensor randomWalk(const torch::Tensor &seeds, const torch::Tensor &transition, int steps);

// AFA's propagation of CAMs (afa.md §8): cams [B, C, h, w] (min-max normalised, on the affinity's
// grid), affinity [B, N, N] with N = h·w, classLabels [B, C] multi-hot. Per image the seeds are
// the softmax over [bgScore; the labelled classes' cams] at each token; one walk (config);
// → [B, 1 + C, h, w] with channel 0 the background and unlabelled classes 0.
torch::Tensor propagateWithBackground(const torch::Tensor &cams, const torch::Tensor &affinity,
                                      const torch::Tensor &classLabels, double bgScore,
                                      const RandomWalkConfig &config = {});

} // namespace wsss::vision
