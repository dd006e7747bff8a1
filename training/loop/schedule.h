#pragma once
// Learning-rate multiplier: linear warm-up from 0 over `warmup` steps, then polynomial decay
// (1 - t/total)^power, as SegFormer-style WSSS code trains.
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace wsss::training {

inline double warmupPolyFactor(std::int64_t step, std::int64_t total, std::int64_t warmup, double power = 0.9)
{
    if (warmup > 0 && step < warmup)
        return static_cast<double>(step + 1) / static_cast<double>(warmup);
    const double progress = std::clamp(static_cast<double>(step) / std::max<std::int64_t>(1, total), 0.0, 1.0);
    return std::pow(1.0 - progress, power);
}

} // namespace wsss::training
