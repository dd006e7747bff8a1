#include "vision/metrics/pointing.h"

#include "vision/core/labels.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace wsss::vision {

void PointingGame::add(const std::uint8_t *gt, const float *maps, int numMaps, std::size_t n)
{
    std::array<bool, 256> present{};
    for (std::size_t i = 0; i < n; ++i)
        present[gt[i]] = true;
    for (int c = 1; c <= numMaps && c < kIgnoreLabel; ++c) {
        if (!present[static_cast<std::size_t>(c)])
            continue;
        const float *plane = maps + static_cast<std::size_t>(c - 1) * n;
        const int truth = gt[std::max_element(plane, plane + n) - plane]; // the first of equal peaks
        if (truth == c)
            ++onItem;
        else if (truth == kIgnoreLabel)
            ++onIgnored;
        else if (truth == 0)
            ++onBackground;
        else
            ++onOtherItem;
    }
}

double PointingGame::share(std::int64_t outcome) const
{
    return maps() == 0 ? std::nan("") : static_cast<double>(outcome) / static_cast<double>(maps());
}

} // namespace wsss::vision
