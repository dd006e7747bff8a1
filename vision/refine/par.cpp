#include "vision/refine/par.h"

#include "vision/core/error.h"
#include "vision/core/vector_clones.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/nn/functional/upsampling.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace wsss::vision {
namespace {

namespace F = torch::nn::functional;

constexpr double kStdEps = 1e-8; // official PAR: σ + 1e-8, so a flat patch gives 0/1e-8 = 0
constexpr std::int64_t kTile = 128; // propagation columns per tile (48 kernel rows × 512 B in L1)

void checkParImage(const torch::Tensor &image)
{
    if (image.dim() != 4 || image.size(1) != 3)
        throw Error("PAR: image must be [B, 3, H, W], got " + c10::str(image.sizes()));
}

void checkMaps(const torch::Tensor &kernel, const torch::Tensor &maps, const ParConfig &config)
{
    if (kernel.dim() != 4 || kernel.size(1) != config.neighbours())
        throw Error("PAR: kernel must be [B, " + std::to_string(config.neighbours()) + ", H, W], got " +
                    c10::str(kernel.sizes()));
    if (maps.dim() != 4 || maps.size(0) != kernel.size(0) || maps.size(2) != kernel.size(2) ||
        maps.size(3) != kernel.size(3))
        throw Error("PAR: maps " + c10::str(maps.sizes()) + " do not match the kernel " + c10::str(kernel.sizes()) +
                    " (expected [B, K, H, W] with the kernel's B, H and W)");
}

// Source index of every padded position: clamp(i − pad, 0, size − 1), i.e. replicate padding
// that stays valid when the pad exceeds the size (large dilations on small images).
torch::Tensor clampedIndex(std::int64_t size, std::int64_t pad, const torch::Device &device)
{
    return torch::arange(-pad, size + pad, torch::TensorOptions().dtype(torch::kLong).device(device)).clamp(0, size - 1);
}

torch::Tensor replicatePad(const torch::Tensor &x, std::int64_t pad)
{
    return x.index_select(2, clampedIndex(x.size(2), pad, x.device()))
        .index_select(3, clampedIndex(x.size(3), pad, x.device()));
}

// Neighbour n of every pixel as a view into the padded tensor: [B, C, H, W].
torch::Tensor neighbourView(const torch::Tensor &padded, std::int64_t pad, const std::array<int, 2> &offset,
                            std::int64_t H, std::int64_t W)
{
    return padded.slice(2, pad + offset[0], pad + offset[0] + H).slice(3, pad + offset[1], pad + offset[1] + W);
}

int maxDilation(const ParConfig &config)
{
    return *std::max_element(config.dilations.begin(), config.dilations.end());
}

// out[x] = row[clamp(x + dx, 0, W − 1)] for x in [0, W).
void shiftedRow(const float *row, std::int64_t W, std::int64_t dx, float *out)
{
    const std::int64_t lo = std::clamp<std::int64_t>(-dx, 0, W), hi = std::clamp<std::int64_t>(W - dx, lo, W);
    for (std::int64_t x = 0; x < lo; ++x)
        out[x] = row[0];
    for (std::int64_t x = lo; x < hi; ++x)
        out[x] = row[x + dx];
    for (std::int64_t x = hi; x < W; ++x)
        out[x] = row[W - 1];
}

// out[i] = row[clamp(i − pad, 0, W − 1)] for i in [0, W + 2·pad).
void padRow(const float *row, std::int64_t W, std::int64_t pad, float *out)
{
    std::fill(out, out + pad, row[0]);
    std::copy(row, row + W, out + pad);
    std::fill(out + pad + W, out + W + 2 * pad, row[W - 1]);
}

// acc[x] += Σ_j k_j[x] · s_j[x] over one dilation's 8 neighbours: one pass over acc per 8
// products instead of 8 (the loop is memory-bound; this keeps acc in registers).
WSSS_VECTOR_CLONES void accumulateEight(const float *const *k, const float *const *s, std::int64_t W, float *__restrict acc)
{
    const float *__restrict k0 = k[0], *__restrict k1 = k[1], *__restrict k2 = k[2], *__restrict k3 = k[3];
    const float *__restrict k4 = k[4], *__restrict k5 = k[5], *__restrict k6 = k[6], *__restrict k7 = k[7];
    const float *__restrict s0 = s[0], *__restrict s1 = s[1], *__restrict s2 = s[2], *__restrict s3 = s[3];
    const float *__restrict s4 = s[4], *__restrict s5 = s[5], *__restrict s6 = s[6], *__restrict s7 = s[7];
    for (std::int64_t x = 0; x < W; ++x)
        acc[x] += k0[x] * s0[x] + k1[x] * s1[x] + k2[x] * s2[x] + k3[x] * s3[x] + k4[x] * s4[x] + k5[x] * s5[x] +
                  k6[x] * s6[x] + k7[x] * s7[x];
}

// One image row's logits over its N neighbours for one channel: logit[n][x] −= (|I_n − I_c| / σ / w1)² / 3,
// σ the unbiased std of the N neighbours (two passes, for accuracy). nb: N rows of W neighbours.
WSSS_VECTOR_CLONES void subtractChannelTerm(const float *__restrict nb, const float *__restrict centre, int N,
                                            std::int64_t W, float invW1, float *__restrict mean,
                                            float *__restrict scale, float *__restrict logit)
{
    std::fill(mean, mean + W, 0.0f);
    for (int n = 0; n < N; ++n)
        for (std::int64_t x = 0; x < W; ++x)
            mean[x] += nb[n * W + x];
    for (std::int64_t x = 0; x < W; ++x)
        mean[x] /= static_cast<float>(N);
    std::fill(scale, scale + W, 0.0f);
    for (int n = 0; n < N; ++n)
        for (std::int64_t x = 0; x < W; ++x) {
            const float d = nb[n * W + x] - mean[x];
            scale[x] += d * d;
        }
    for (std::int64_t x = 0; x < W; ++x)
        scale[x] = invW1 / (std::sqrt(scale[x] / static_cast<float>(N - 1)) + static_cast<float>(kStdEps));
    for (int n = 0; n < N; ++n)
        for (std::int64_t x = 0; x < W; ++x) {
            const float r = (nb[n * W + x] - centre[x]) * scale[x];
            logit[n * W + x] -= r * r / 3.0f; // mean over the 3 channels
        }
}

torch::Tensor kernelCpu(const torch::Tensor &image, const ParConfig &config)
{
    const auto img = image.to(torch::kFloat).contiguous();
    const std::int64_t B = img.size(0), H = img.size(2), W = img.size(3), HW = H * W;
    const auto offsets = parOffsets(config.dilations);
    const int N = config.neighbours();
    auto logits = torch::zeros({B, N, H, W}, torch::kFloat);
    const float *in = img.data_ptr<float>();
    float *out = logits.data_ptr<float>();
    const float invW1 = static_cast<float>(1.0 / config.w1);

    at::parallel_for(0, B * H, 4, [&](std::int64_t begin, std::int64_t end) {
        std::vector<float> nb(static_cast<std::size_t>(N * W)), logit(static_cast<std::size_t>(N * W));
        std::vector<float> mean(W), scale(W);
        for (std::int64_t by = begin; by < end; ++by) {
            const std::int64_t b = by / H, y = by % H;
            std::fill(logit.begin(), logit.end(), 0.0f);
            for (int c = 0; c < 3; ++c) {
                const float *plane = in + (b * 3 + c) * HW;
                for (int n = 0; n < N; ++n) {
                    const std::int64_t sy = std::clamp<std::int64_t>(y + offsets[n][0], 0, H - 1);
                    shiftedRow(plane + sy * W, W, offsets[n][1], nb.data() + n * W);
                }
                subtractChannelTerm(nb.data(), plane + y * W, N, W, invW1, mean.data(), scale.data(), logit.data());
            }
            for (int n = 0; n < N; ++n)
                std::copy_n(logit.data() + n * W, W, out + (b * N + n) * HW + y * W);
        }
    });
    // ATen's softmax runs its exp vectorised for this CPU.
    const auto pos = parPositionWeights(config).to(torch::kFloat).view({1, -1, 1, 1});
    return logits.softmax(1).add_(config.w2 * pos);
}

torch::Tensor propagateCpu(const torch::Tensor &kernel, const torch::Tensor &maps, const ParConfig &config)
{
    const auto k = kernel.to(torch::kFloat).contiguous();
    const std::int64_t B = maps.size(0), K = maps.size(1), H = maps.size(2), W = maps.size(3), HW = H * W;
    const auto offsets = parOffsets(config.dilations);
    const int N = config.neighbours();
    const std::int64_t pad = maxDilation(config), padW = W + 2 * pad;
    auto current = maps.to(torch::kFloat).contiguous().clone();
    auto next = torch::empty_like(current);
    // Every row with `pad` replicated columns on each side, so the sums below need no clamping
    // along x; rows are clamped by index.
    // A tensor, not a vector: LibTorch's allocator puts it on huge pages (vision/core/cpu_memory.h),
    // and every value is written before it is read.
    auto paddedTensor = torch::empty({B * K * H * padW}, torch::kFloat);
    float *padded = paddedTensor.data_ptr<float>();
    const float *kp = k.data_ptr<float>();
    for (int it = 0; it < config.iterations; ++it) {
        const float *src = current.data_ptr<float>();
        float *dst = next.data_ptr<float>();
        at::parallel_for(0, B * K * H, 64, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t r = begin; r < end; ++r)
                padRow(src + r * W, W, pad, padded + r * padW);
        });
        at::parallel_for(0, B * H, 4, [&](std::int64_t begin, std::int64_t end) {
            const float *kRows[8], *sRows[8];
            for (std::int64_t by = begin; by < end; ++by) {
                const std::int64_t b = by / H, y = by % H;
                // Column tiles: one tile's N kernel rows (N × kTile floats) stay in L1 while every
                // channel reads them, instead of streaming the whole rows from L2 per channel.
                for (std::int64_t x0 = 0; x0 < W; x0 += kTile) {
                    const std::int64_t tw = std::min(kTile, W - x0);
                    for (std::int64_t c = 0; c < K; ++c) {
                        float *acc = dst + (b * K + c) * HW + y * W + x0;
                        std::fill(acc, acc + tw, 0.0f);
                        const float *plane = padded + (b * K + c) * H * padW;
                        for (int n0 = 0; n0 < N; n0 += 8) {
                            for (int j = 0; j < 8; ++j) {
                                const auto &o = offsets[static_cast<std::size_t>(n0 + j)];
                                const std::int64_t sy = std::clamp<std::int64_t>(y + o[0], 0, H - 1);
                                kRows[j] = kp + (b * N + n0 + j) * HW + y * W + x0;
                                sRows[j] = plane + sy * padW + pad + o[1] + x0;
                            }
                            accumulateEight(kRows, sRows, tw, acc);
                        }
                    }
                }
            }
        });
        std::swap(current, next);
    }
    return current;
}

bool useCpuLoop(const torch::Tensor &t)
{
    return t.device().is_cpu() && t.scalar_type() == torch::kFloat;
}

} // namespace

void ParConfig::validate() const
{
    if (dilations.empty())
        throw Error("PAR config: dilations is empty");
    for (int d : dilations)
        if (d <= 0)
            throw Error("PAR config: dilation " + std::to_string(d) + " is not positive");
    if (iterations < 0)
        throw Error("PAR config: iterations " + std::to_string(iterations) + " is negative");
    if (!(w1 > 0.0))
        throw Error("PAR config: w1 " + std::to_string(w1) + " must be positive");
    if (!(w2 >= 0.0))
        throw Error("PAR config: w2 " + std::to_string(w2) + " must be ≥ 0");
}

std::vector<int> scaledDilations(const std::vector<int> &dilations, double factor)
{
    if (!(factor > 0) || !std::isfinite(factor))
        throw Error("PAR: dilation scale " + std::to_string(factor) + " must be positive");
    std::vector<int> out;
    for (int d : dilations) {
        const int scaled = std::max(1, static_cast<int>(std::lround(d * factor)));
        if (std::find(out.begin(), out.end(), scaled) == out.end())
            out.push_back(scaled);
    }
    return out;
}

std::vector<std::array<int, 2>> parOffsets(const std::vector<int> &dilations)
{
    static constexpr int kUnit[8][2] = {{-1, -1}, {-1, 0}, {-1, 1}, {0, -1}, {0, 1}, {1, -1}, {1, 0}, {1, 1}};
    std::vector<std::array<int, 2>> offsets;
    offsets.reserve(dilations.size() * 8);
    for (int d : dilations)
        for (const auto &u : kUnit)
            offsets.push_back({u[0] * d, u[1] * d});
    return offsets;
}

torch::Tensor parPositionWeights(const ParConfig &config)
{
    config.validate();
    std::vector<double> dist;
    for (const auto &o : parOffsets(config.dilations))
        dist.push_back(std::hypot(static_cast<double>(o[0]), static_cast<double>(o[1])));
    auto d = torch::tensor(dist, torch::kDouble);
    // One neighbour list has a single distance class per dilation; N ≥ 8, so std is defined.
    auto logits = -(d / (d.std(/*unbiased=*/true) + kStdEps) / config.w1).pow(2);
    return logits.softmax(0);
}

torch::Tensor parKernel(const torch::Tensor &image, const ParConfig &config)
{
    config.validate();
    checkParImage(image);
    if (image.device().is_cpu())
        return kernelCpu(image, config);
    return parKernelTensorOps(image, config);
}

torch::Tensor parPropagate(const torch::Tensor &kernel, const torch::Tensor &maps, const ParConfig &config)
{
    config.validate();
    checkMaps(kernel, maps, config);
    if (useCpuLoop(maps) && kernel.device().is_cpu())
        return propagateCpu(kernel, maps, config);
    return parPropagateTensorOps(kernel, maps, config);
}

torch::Tensor refineWithPar(const torch::Tensor &image, const torch::Tensor &maps, const ParConfig &config)
{
    checkParImage(image);
    if (maps.dim() != 4 || maps.size(0) != image.size(0))
        throw Error("PAR: maps must be [B, K, h, w] with the image's batch " + std::to_string(image.size(0)) +
                    ", got " + c10::str(maps.sizes()));
    const std::int64_t H = image.size(2), W = image.size(3);
    auto sized = maps.to(torch::kFloat);
    if (sized.size(2) != H || sized.size(3) != W)
        sized = F::interpolate(sized, F::InterpolateFuncOptions()
                                          .size(std::vector<std::int64_t>{H, W})
                                          .mode(torch::kBilinear)
                                          .align_corners(true));
    return parPropagate(parKernel(image, config), sized, config);
}

torch::Tensor parKernelTensorOps(const torch::Tensor &image, const ParConfig &config)
{
    config.validate();
    checkParImage(image);
    const auto img = image.to(torch::kFloat);
    const std::int64_t H = img.size(2), W = img.size(3);
    const int pad = maxDilation(config);
    const auto padded = replicatePad(img, pad);
    std::vector<torch::Tensor> views;
    for (const auto &o : parOffsets(config.dilations))
        views.push_back(neighbourView(padded, pad, o, H, W));
    const auto nb = torch::stack(views, 2);                            // [B, 3, N, H, W]
    const auto sigma = nb.std(2, /*unbiased=*/true, /*keepdim=*/true); // [B, 3, 1, H, W]
    const auto logits = -((nb - img.unsqueeze(2)).abs() / (sigma + kStdEps) / config.w1).pow(2).mean(1);
    const auto pos = parPositionWeights(config).to(img.options()).view({1, -1, 1, 1});
    return logits.softmax(1) + config.w2 * pos;
}

torch::Tensor parPropagateTensorOps(const torch::Tensor &kernel, const torch::Tensor &maps, const ParConfig &config)
{
    config.validate();
    checkMaps(kernel, maps, config);
    const std::int64_t H = maps.size(2), W = maps.size(3);
    const int pad = maxDilation(config);
    const auto offsets = parOffsets(config.dilations);
    auto current = maps.to(kernel.scalar_type());
    for (int it = 0; it < config.iterations; ++it) {
        const auto padded = replicatePad(current, pad);
        auto next = torch::zeros_like(current);
        for (std::size_t n = 0; n < offsets.size(); ++n) {
            const auto n64 = static_cast<std::int64_t>(n);
            next.addcmul_(neighbourView(padded, pad, offsets[n], H, W), kernel.slice(1, n64, n64 + 1));
        }
        current = next;
    }
    return current;
}

} // namespace wsss::vision
