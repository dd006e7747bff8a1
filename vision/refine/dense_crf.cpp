#include "vision/refine/dense_crf.h"

#include "vision/core/error.h"
#include "vision/refine/permutohedral.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

namespace wsss::vision {

namespace {

constexpr std::int64_t kPixelGrain = 2048;

// One Potts kernel ready for mean-field: its lattice, ν = (K̂1)^−½ for the symmetric
// normalisation D^−½ K̂ D^−½, and w·ν applied on the way out.
struct PreparedKernel {
    std::unique_ptr<PermutohedralLattice> lattice;
    std::vector<float> norm;
    std::vector<float> weightedNorm;
};

PreparedKernel prepareKernel(std::vector<float> features, std::int64_t n, int d, float weight)
{
    PreparedKernel k;
    k.lattice = std::make_unique<PermutohedralLattice>(features.data(), n, d);
    const std::vector<float> ones(static_cast<std::size_t>(n), 1.0f);
    std::vector<float> sum(static_cast<std::size_t>(n));
    k.lattice->filter(ones.data(), sum.data(), 1);
    k.norm.resize(static_cast<std::size_t>(n));
    k.weightedNorm.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < sum.size(); ++i) {
        k.norm[i] = 1.0f / std::sqrt(sum[i] + 1e-20f);
        k.weightedNorm[i] = weight * k.norm[i];
    }
    return k;
}

// Features in float32 as pydensecrf builds them: (x, y)/sxy, then (R, G, B)/srgb.
std::vector<float> gaussianFeatures(std::int64_t height, std::int64_t width, float sxy)
{
    std::vector<float> f(static_cast<std::size_t>(height * width * 2));
    for (std::int64_t y = 0; y < height; ++y)
        for (std::int64_t x = 0; x < width; ++x) {
            float *p = f.data() + (y * width + x) * 2;
            p[0] = static_cast<float>(x) / sxy;
            p[1] = static_cast<float>(y) / sxy;
        }
    return f;
}

std::vector<float> bilateralFeatures(const std::uint8_t *rgb, std::int64_t height, std::int64_t width, float sxy,
                                     float srgb)
{
    std::vector<float> f(static_cast<std::size_t>(height * width * 5));
    for (std::int64_t y = 0; y < height; ++y)
        for (std::int64_t x = 0; x < width; ++x) {
            const std::int64_t i = y * width + x;
            float *p = f.data() + i * 5;
            p[0] = static_cast<float>(x) / sxy;
            p[1] = static_cast<float>(y) / sxy;
            for (int c = 0; c < 3; ++c)
                p[2 + c] = static_cast<float>(rgb[i * 3 + c]) / srgb;
        }
    return f;
}

// q_i = softmax(logits_i) over the labels; ATen's kernel is vectorised (exp dominates it).
void softmaxRows(float *logits, float *q, std::int64_t n, std::int64_t labels)
{
    const at::Tensor in = at::from_blob(logits, {n, labels}, at::TensorOptions(at::kFloat));
    at::Tensor out = at::from_blob(q, {n, labels}, at::TensorOptions(at::kFloat));
    at::_softmax_out(out, in, 1, false);
}

void checkRgbImage(const at::Tensor &image)
{
    if (image.scalar_type() != at::kByte || image.dim() != 3 || image.size(2) != 3)
        throw Error("dense CRF: image " + c10::str(image.sizes()) + " " + std::string(c10::toString(image.scalar_type())) +
                    " must be [H, W, 3] uint8 RGB");
}

void checkImageSize(std::int64_t height, std::int64_t width, std::int64_t expectH, std::int64_t expectW,
                    const char *what)
{
    if (height != expectH || width != expectW)
        throw Error("dense CRF: image is " + std::to_string(height) + "×" + std::to_string(width) + " but the " +
                    what + " are " + std::to_string(expectH) + "×" + std::to_string(expectW));
}

void checkProbabilitiesShape(const at::Tensor &probs)
{
    if (probs.dim() != 3)
        throw Error("dense CRF: probabilities " + c10::str(probs.sizes()) + " must be [C, H, W]");
    if (probs.size(0) == 0)
        throw Error("dense CRF: probabilities " + c10::str(probs.sizes()) + " have 0 labels");
    if (!at::isFloatingType(probs.scalar_type()))
        throw Error("dense CRF: probabilities must be floating point, not " +
                    std::string(c10::toString(probs.scalar_type())));
}

// Labels padded to a multiple of 8 with impossible ones (unary +inf, so q = 0 there and the
// filters keep them 0): the lattice's per-label loops then run whole AVX vectors, no tail.
std::int64_t paddedLabels(std::int64_t labels)
{
    return (labels + 7) / 8 * 8;
}

// A pixel-major unary of paddedLabels(labels) values per pixel, the padding +inf. From LibTorch's
// allocator, whose block cache reuses it image after image.
at::Tensor emptyUnary(std::int64_t n, std::int64_t labels)
{
    const std::int64_t padded = paddedLabels(labels);
    at::Tensor unary = at::empty({n, padded}, at::TensorOptions(at::kFloat));
    if (padded != labels)
        unary.narrow(1, labels, padded - labels).fill_(std::numeric_limits<float>::infinity());
    return unary;
}

// [C, H, W] probabilities → pixel-major −ln(clip(p, 1e-5, 1)), padded.
at::Tensor unaryFromProbabilities(const at::Tensor &probs)
{
    const at::Tensor p = probs.to(at::kCPU, at::kFloat).contiguous();
    const std::int64_t labels = p.size(0), n = p.size(1) * p.size(2), width = p.size(2);
    const float *src = p.data_ptr<float>();
    if (at::isnan(p).any().item<bool>()) {
        const std::int64_t first = at::isnan(p).flatten().nonzero()[0].item<std::int64_t>();
        throw Error("dense CRF: probability of label " + std::to_string(first / n) + " at pixel (y " +
                    std::to_string(first % n / width) + ", x " + std::to_string(first % width) + ") is NaN");
    }
    at::Tensor unary = emptyUnary(n, labels);
    float *dst = unary.data_ptr<float>();
    const std::int64_t stride = unary.size(1);
    at::parallel_for(0, n, kPixelGrain, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i)
            for (std::int64_t l = 0; l < labels; ++l)
                dst[i * stride + l] = -std::log(std::clamp(src[l * n + i], kCrfProbabilityClip, 1.0f));
    });
    return unary;
}

// [H, W] hard labels (denseCrfFromLabels checked the shape) → pixel-major energies of
// pydensecrf's unary_from_labels, padded.
at::Tensor unaryFromLabels(const at::Tensor &labels, std::int64_t numLabels, float gtProb)
{
    if (at::isFloatingType(labels.scalar_type()) || labels.scalar_type() == at::kBool)
        throw Error("dense CRF: labels must be integers, not " + std::string(c10::toString(labels.scalar_type())));
    if (numLabels < 2)
        throw Error("dense CRF: " + std::to_string(numLabels) + " labels; hard labels need at least 2");
    if (!(gtProb > 0.0f && gtProb < 1.0f))
        throw Error("dense CRF: gt_prob " + std::to_string(gtProb) + " must be in (0, 1)");
    const at::Tensor lab = labels.to(at::kCPU, at::kLong).contiguous();
    const std::int64_t n = lab.numel(), width = lab.size(1);
    const std::int64_t *src = lab.data_ptr<std::int64_t>();
    const float on = -std::log(gtProb);
    const float off = -std::log((1.0f - gtProb) / static_cast<float>(numLabels - 1));
    at::Tensor unary = emptyUnary(n, numLabels);
    unary.narrow(1, 0, numLabels).fill_(off);
    float *dst = unary.data_ptr<float>();
    const std::int64_t stride = unary.size(1);
    for (std::int64_t i = 0; i < n; ++i) {
        if (src[i] < 0 || src[i] >= numLabels)
            throw Error("dense CRF: label " + std::to_string(src[i]) + " at pixel (y " + std::to_string(i / width) +
                        ", x " + std::to_string(i % width) + ") is outside 0.." + std::to_string(numLabels - 1));
        dst[i * stride + src[i]] = on;
    }
    return unary;
}

// The image's kernels (the lattices and their normalisations): built once per image, they cost
// about a quarter of a small image's CRF, so a sweep of unaries on one image shares them.
std::vector<PreparedKernel> prepareKernels(const std::uint8_t *rgb, std::int64_t height, std::int64_t width,
                                           const DenseCrfParams &params)
{
    const std::int64_t n = height * width;
    std::vector<PreparedKernel> kernels;
    if (params.gaussianCompat != 0.0f)
        kernels.push_back(prepareKernel(gaussianFeatures(height, width, params.gaussianSxy), n, 2, params.gaussianCompat));
    if (params.bilateralCompat != 0.0f)
        kernels.push_back(prepareKernel(bilateralFeatures(rgb, height, width, params.bilateralSxy, params.bilateralSrgb),
                                        n, 5, params.bilateralCompat));
    return kernels;
}

void meanField(const std::vector<PreparedKernel> &kernels, const float *unary, std::int64_t numLabels, std::int64_t n,
               int iterations, float *q)
{
    const std::int64_t values = n * numLabels;
    // −U once; each iteration's first filter writes −U + its term, the next ones add theirs (no
    // separate pass to reset the logits).
    // Both are fully written before they are read: no zero-filling pass.
    // From LibTorch's allocator, whose block cache reuses them image after image.
    const at::Tensor negUnaryBuffer = at::empty({values}, at::TensorOptions(at::kFloat));
    const at::Tensor logitsBuffer = at::empty({values}, at::TensorOptions(at::kFloat));
    float *negUnary = negUnaryBuffer.data_ptr<float>(), *logits = logitsBuffer.data_ptr<float>();
    at::parallel_for(0, values, kPixelGrain * 16, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i)
            negUnary[i] = -unary[i];
    });
    softmaxRows(negUnary, q, n, numLabels);
    const int labels = static_cast<int>(numLabels);
    for (int it = 0; it < iterations; ++it) {
        // Potts: logits = −U + Σ_m w_m·ν_m ⊙ K̂_m(ν_m ⊙ Q); the label-independent part cancels.
        const float *base = negUnary;
        for (const auto &k : kernels) {
            k.lattice->filter(q, logits, labels, k.norm.data(), k.weightedNorm.data(), base);
            base = logits;
        }
        softmaxRows(const_cast<float *>(base), q, n, numLabels);
    }
}

// Q [labels, H, W] (a view of the pixel-major marginals, on the CPU) of a padded unary from the
// functions above, on an image's prepared kernels.
at::Tensor marginalsOf(const std::vector<PreparedKernel> &kernels, const at::Tensor &unary, std::int64_t labels,
                       std::int64_t height, std::int64_t width, int iterations)
{
    const std::int64_t padded = unary.size(1);
    at::Tensor q = at::empty({height, width, padded}, at::TensorOptions(at::kFloat)); // pixel-major
    meanField(kernels, unary.data_ptr<float>(), padded, height * width, iterations, q.data_ptr<float>());
    return q.narrow(2, 0, labels).permute({2, 0, 1});
}

// The callers have checked the parameters and that the image matches the unary.
at::Tensor runCrf(const at::Tensor &unary, std::int64_t labels, const std::uint8_t *rgb, std::int64_t height,
                  std::int64_t width, const DenseCrfParams &params, const at::Device &device)
{
    if (height < 1 || width < 1)
        throw Error("dense CRF: image size " + std::to_string(height) + "×" + std::to_string(width) + " is empty");
    return marginalsOf(prepareKernels(rgb, height, width, params), unary, labels, height, width, params.iterations)
        .contiguous()
        .to(device);
}

// [1 + K, H, W] probabilities P = [t; maps] / their sum per pixel (maps clamped at 0).
at::Tensor withBackground(const at::Tensor &maps, float backgroundScore)
{
    if (!(backgroundScore > 0))
        throw Error("dense CRF: the background score " + std::to_string(backgroundScore) +
                    " must be positive (it is the background's share of each pixel)");
    auto scores = at::cat({at::full({1, maps.size(1), maps.size(2)}, backgroundScore, maps.options().dtype(at::kFloat)),
                           maps.to(at::kFloat).clamp_min(0)});
    return scores / scores.sum(0, true);
}

} // namespace

void denseCrfMeanField(const float *unary, std::int64_t numLabels, const std::uint8_t *rgb, std::int64_t height,
                       std::int64_t width, const DenseCrfParams &params, float *q)
{
    params.validate();
    if (numLabels < 1)
        throw Error("dense CRF: " + std::to_string(numLabels) + " labels (expected ≥ 1)");
    if (height < 1 || width < 1)
        throw Error("dense CRF: image size " + std::to_string(height) + "×" + std::to_string(width) + " is empty");
    if (!unary || !q || !rgb)
        throw Error("dense CRF: null unary, output or image buffer");
    // Each lattice is built once; filtering then costs O(N·L) per kernel and iteration.
    meanField(prepareKernels(rgb, height, width, params), unary, numLabels, height * width, params.iterations, q);
}

at::Tensor denseCrf(const at::Tensor &probs, const at::Tensor &image, const DenseCrfParams &params)
{
    checkRgbImage(image);
    const at::Tensor rgb = image.to(at::kCPU).contiguous();
    return denseCrf(probs, rgb.data_ptr<std::uint8_t>(), rgb.size(0), rgb.size(1), params);
}

at::Tensor denseCrf(const at::Tensor &probs, const std::uint8_t *rgb, std::int64_t height, std::int64_t width,
                    const DenseCrfParams &params)
{
    params.validate();
    checkProbabilitiesShape(probs);
    checkImageSize(height, width, probs.size(1), probs.size(2), "probabilities");
    const at::Tensor unary = unaryFromProbabilities(probs);
    return runCrf(unary, probs.size(0), rgb, height, width, params, probs.device());
}

at::Tensor denseCrfFromLabels(const at::Tensor &labels, std::int64_t numLabels, const at::Tensor &image,
                              const DenseCrfParams &params, float gtProb)
{
    checkRgbImage(image);
    const at::Tensor rgb = image.to(at::kCPU).contiguous();
    return denseCrfFromLabels(labels, numLabels, rgb.data_ptr<std::uint8_t>(), rgb.size(0), rgb.size(1), params,
                              gtProb);
}

at::Tensor denseCrfFromLabels(const at::Tensor &labels, std::int64_t numLabels, const std::uint8_t *rgb,
                              std::int64_t height, std::int64_t width, const DenseCrfParams &params, float gtProb)
{
    params.validate();
    if (labels.dim() != 2)
        throw Error("dense CRF: labels " + c10::str(labels.sizes()) + " must be [H, W]");
    checkImageSize(height, width, labels.size(0), labels.size(1), "labels");
    const at::Tensor unary = unaryFromLabels(labels, numLabels, gtProb);
    return runCrf(unary, numLabels, rgb, height, width, params, labels.device());
}

at::Tensor denseCrfWithBackground(const at::Tensor &maps, float backgroundScore, const at::Tensor &imageHW3,
                                  const DenseCrfParams &params)
{
    if (maps.dim() != 3)
        throw Error("dense CRF: maps must be [K, H, W], got " + c10::str(maps.sizes()));
    return denseCrf(withBackground(maps, backgroundScore), imageHW3, params);
}

at::Tensor denseCrfWithBackgrounds(const at::Tensor &maps, const std::vector<float> &backgroundScores,
                                   const at::Tensor &imageHW3, const DenseCrfParams &params)
{
    params.validate();
    if (maps.dim() != 3 || maps.size(0) < 1)
        throw Error("dense CRF: maps must be [K, H, W] with K ≥ 1, got " + c10::str(maps.sizes()));
    checkRgbImage(imageHW3);
    const std::int64_t height = maps.size(1), width = maps.size(2), labels = maps.size(0) + 1;
    checkImageSize(imageHW3.size(0), imageHW3.size(1), height, width, "maps");
    const at::Tensor rgb = imageHW3.to(at::kCPU).contiguous();
    const auto kernels = prepareKernels(rgb.data_ptr<std::uint8_t>(), height, width, params);
    std::vector<at::Tensor> out;
    for (const float score : backgroundScores) {
        // As denseCrf(withBackground(…)) does it, on the shared kernels.
        const at::Tensor unary = unaryFromProbabilities(withBackground(maps, score));
        out.push_back(marginalsOf(kernels, unary, labels, height, width, params.iterations));
    }
    if (out.empty())
        return at::empty({0, labels, height, width}, maps.options().dtype(at::kFloat));
    return at::stack(out).contiguous().to(maps.device());
}

} // namespace wsss::vision

