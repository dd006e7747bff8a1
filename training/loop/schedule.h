#pragma once
// Learning-rate multiplier: linear warm-up over `warmup` steps, then polynomial decay
// (1 - t/total)^power, as SegFormer-style WSSS code trains.
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace wsss::training {

// The pretrainer's schedule: warm-up from 1/warmup at step 0 to 1.
inline double warmupPolyFactor(std::int64_t step, std::int64_t total, std::int64_t warmup, double power = 0.9)
{
    if (warmup > 0 && step < warmup)
        return static_cast<double>(step + 1) / static_cast<double>(warmup);
    const double progress = std::clamp(static_cast<double>(step) / std::max<std::int64_t>(1, total), 0.0, 1.0);
    return std::pow(1.0 - progress, power);
}

// mmseg's PolyWarmup (AFA's PolyWarmupAdamW): 1 − (1 − t/warmup)(1 − ratio) during the warm-up,
// so step 0 runs at `ratio` × lr; afterwards the un-shifted poly (1 − t/total)^power, which
// drops below 1 right after the warm-up exactly as the official code does.
inline double polyWarmupFactor(std::int64_t step, std::int64_t total, std::int64_t warmup, double ratio, double power)
{
    if (warmup > 0 && step < warmup)
        return 1.0 - (1.0 - static_cast<double>(step) / static_cast<double>(warmup)) * (1.0 - ratio);
    const double progress = std::clamp(static_cast<double>(step) / std::max<std::int64_t>(1, total), 0.0, 1.0);
    return std::pow(1.0 - progress, power);
}

} // namespace wsss::training
