#pragma once
// Uniform draws from mt19937_64 that are the same on every standard library: the
// std::uniform_*_distribution algorithms differ between them, while mt19937_64's raw output is
// fixed by the standard, so a seed's augmentations and demo images stay portable.
#include <cstdint>
#include <limits>
#include <random>

namespace wsss::training {

// A uniform double in [0, 1): the generator's top 53 bits.
inline double uniform01(std::mt19937_64 &rng)
{
    return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

inline double uniformReal(std::mt19937_64 &rng, double lo, double hi)
{
    return lo + (hi - lo) * uniform01(rng);
}

// Inclusive range, without modulo bias.
inline int uniformInt(std::mt19937_64 &rng, int lo, int hi)
{
    const std::uint64_t span = static_cast<std::uint64_t>(hi - lo) + 1;
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                                std::numeric_limits<std::uint64_t>::max() % span;
    std::uint64_t v;
    do {
        v = rng();
    } while (v >= limit);
    return lo + static_cast<int>(v % span);
}

} // namespace wsss::training
