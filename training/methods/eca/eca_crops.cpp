#include "training/methods/eca/eca_crops.h"

#include "vision/core/error.h"

#include <ATen/ATen.h>

#include <vector>

namespace wsss::training {

namespace {

double uniform(double low, double high)
{
    return low + (high - low) * torch::rand({1}, torch::kDouble).item<double>();
}

} // namespace

CorrespondenceCrops correspondenceCrops(const torch::Tensor &image, const torch::Tensor &labels, int crops,
                                        std::int64_t side, const CropAugment &augment,
                                        const vision::Normalization &norm)
{
    const auto B = image.size(0), H = image.size(2), W = image.size(3);
    const auto margin = side / 2;
    if (crops < 1 || side < 2 || side > H || side > W)
        throw Error("eca CCE: " + std::to_string(crops) + " crops of " + std::to_string(side) + " px do not fit a " +
                    std::to_string(H) + "×" + std::to_string(W) + " image");
    const auto mean = torch::tensor(std::vector<float>(norm.mean.begin(), norm.mean.end())).to(image.device()).view({3, 1, 1});
    const auto stdev = torch::tensor(std::vector<float>(norm.std.begin(), norm.std.end())).to(image.device()).view({3, 1, 1});
    std::vector<torch::Tensor> outImages, outLabels;
    for (std::int64_t i = 0; i < B; ++i) {
        // Centres in [margin, H − margin) × [margin, W − margin): the crop [r − margin, r + margin) lies inside.
        const auto square = labels[i].slice(0, margin, H - margin).slice(1, margin, W - margin);
        auto candidates = square.ne(0).logical_and(square.ne(255)).nonzero(); // [n, 2]
        if (candidates.size(0) < crops)
            candidates = torch::ones_like(square, torch::kBool).nonzero();
        const auto n = candidates.size(0);
        const auto picked = n >= crops ? torch::randperm(n, torch::kLong).slice(0, 0, crops).to(candidates.device())
                                       : torch::randint(n, {crops}, torch::TensorOptions(torch::kLong).device(candidates.device()));
        const auto centres = candidates.index_select(0, picked).cpu();
        for (int v = 0; v < crops; ++v) {
            const auto r = centres[v][0].item<std::int64_t>(), c = centres[v][1].item<std::int64_t>();
            auto crop = image[i].slice(1, r, r + side).slice(2, c, c + side);
            auto label = labels[i].slice(0, r, r + side).slice(1, c, c + side);
            crop = colorJitter(crop, augment.jitter);
            if (uniform(0, 1) < augment.grayscale)
                crop = grayscale(crop).expand({3, side, side});
            crop = (crop - mean) / stdev;
            if (uniform(0, 1) < augment.flip) {
                crop = crop.flip({2});
                label = label.flip({1});
            }
            outImages.push_back(crop.contiguous());
            outLabels.push_back(label.contiguous());
        }
    }
    return {torch::stack(outImages), torch::stack(outLabels)};
}

} // namespace wsss::training
