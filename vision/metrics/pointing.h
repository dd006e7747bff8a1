#pragma once
// The pointing game: does a class's map peak on that class's object? For each class present in
// an image's ground truth, the pixel where its map is highest is looked up in the ground truth:
// on the class's own pixels, on another class's, or on the background. A check of where a map
// points that needs no threshold; a random pixel scores the objects' mean area share.
#include <cstddef>
#include <cstdint>

namespace wsss::vision {

struct PointingGame {
    std::int64_t onItem = 0, onOtherItem = 0, onBackground = 0, onIgnored = 0;

    // gt: n labels (0 background, 255 ignored); maps: numMaps planes of n values, plane k for
    // class k+1. Ground-truth classes without a plane are skipped; ties go to the first pixel.
    void add(const std::uint8_t *gt, const float *maps, int numMaps, std::size_t n);
    std::int64_t maps() const { return onItem + onOtherItem + onBackground + onIgnored; }
    // The share of maps with each outcome (NaN when no map was added).
    double share(std::int64_t outcome) const;
};

} // namespace wsss::vision
