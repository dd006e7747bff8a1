#include "training/data/color_jitter.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <vector>

namespace wsss::training {

namespace {

double uniform(double low, double high)
{
    return low + (high - low) * torch::rand({1}, torch::kDouble).item<double>();
}

torch::Tensor blend(const torch::Tensor &a, const torch::Tensor &b, double ratio)
{
    return (ratio * a + (1.0 - ratio) * b).clamp(0, 1);
}

} // namespace

torch::Tensor grayscale(const torch::Tensor &image)
{
    return (0.299 * image.select(-3, 0) + 0.587 * image.select(-3, 1) + 0.114 * image.select(-3, 2)).unsqueeze(-3);
}

torch::Tensor rgbToHsv(const torch::Tensor &rgb)
{
    const auto r = rgb[0], g = rgb[1], b = rgb[2];
    const auto maxc = std::get<0>(rgb.max(0)), minc = std::get<0>(rgb.min(0));
    const auto equal = maxc.eq(minc);
    const auto cr = maxc - minc;
    const auto ones = torch::ones_like(maxc);
    const auto s = cr / torch::where(equal, ones, maxc);
    const auto divisor = torch::where(equal, ones, cr);
    const auto rc = (maxc - r) / divisor, gc = (maxc - g) / divisor, bc = (maxc - b) / divisor;
    const auto isR = maxc.eq(r), isG = maxc.eq(g).logical_and(isR.logical_not());
    const auto isB = isR.logical_not().logical_and(isG.logical_not());
    const auto h = isR.to(rgb.dtype()) * (bc - gc) + isG.to(rgb.dtype()) * (2.0 + rc - bc) +
                   isB.to(rgb.dtype()) * (4.0 + gc - rc);
    return torch::stack({torch::fmod(h / 6.0 + 1.0, 1.0), s, maxc});
}

torch::Tensor hsvToRgb(const torch::Tensor &hsv)
{
    const auto h = hsv[0], s = hsv[1], v = hsv[2];
    const auto i = torch::floor(h * 6.0);
    const auto f = h * 6.0 - i;
    const auto sector = torch::remainder(i, 6.0);
    const auto p = (v * (1.0 - s)).clamp(0, 1), q = (v * (1.0 - s * f)).clamp(0, 1),
               t = (v * (1.0 - s * (1.0 - f))).clamp(0, 1);
    // The six sectors' (r, g, b) picks.
    const std::vector<std::array<torch::Tensor, 3>> picks{{v, t, p}, {q, v, p}, {p, v, t},
                                                          {p, q, v}, {t, p, v}, {v, p, q}};
    std::array<torch::Tensor, 3> out{torch::zeros_like(v), torch::zeros_like(v), torch::zeros_like(v)};
    for (std::size_t k = 0; k < picks.size(); ++k) {
        const auto here = sector.eq(static_cast<double>(k));
        for (int c = 0; c < 3; ++c)
            out[c] = torch::where(here, picks[k][c], out[c]);
    }
    return torch::stack({out[0], out[1], out[2]});
}

torch::Tensor colorJitter(const torch::Tensor &image, const ColorJitterRanges &ranges)
{
    auto x = image;
    const auto factor = [](double v) { return uniform(std::max(0.0, 1 - v), 1 + v); };
    const auto order = torch::randperm(4, torch::kLong);
    for (std::int64_t k = 0; k < 4; ++k) {
        switch (order[k].item<std::int64_t>()) {
        case 0:
            if (ranges.brightness > 0)
                x = blend(x, torch::zeros_like(x), factor(ranges.brightness));
            break;
        case 1:
            if (ranges.contrast > 0)
                x = blend(x, grayscale(x).mean().expand_as(x), factor(ranges.contrast));
            break;
        case 2:
            if (ranges.saturation > 0)
                x = blend(x, grayscale(x).expand_as(x), factor(ranges.saturation));
            break;
        default:
            if (ranges.hue > 0) {
                auto hsv = rgbToHsv(x);
                hsv[0] = torch::remainder(hsv[0] + uniform(-ranges.hue, ranges.hue), 1.0);
                x = hsvToRgb(hsv);
            }
            break;
        }
    }
    return x;
}

} // namespace wsss::training
