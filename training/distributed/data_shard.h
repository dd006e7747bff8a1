#pragma once
// How a distributed run splits its data. Training: every rank draws the same global batch of
// batch × worldSize samples (same seed, same shuffled order, same augmentation draws) and keeps
// the contiguous slice [rank·batch, (rank+1)·batch); so the ranks' slices, concatenated in rank
// order, are exactly the batch one process draws with --batch batch × worldSize. Inference:
// rank r takes the items i with i % worldSize == r.
#include "training/methods/method.h"

#include <cstddef>

namespace wsss::training {

// Rank `rank`'s slice of a global batch of `perRank` × worldSize samples.
inline Batch rankSlice(const Batch &global, int rank, int perRank)
{
    const std::int64_t start = static_cast<std::int64_t>(rank) * perRank;
    const auto slice = [&](const torch::Tensor &t) { return t.defined() ? t.narrow(0, start, perRank) : t; };
    Batch out = global;
    out.images = slice(global.images);
    out.labels = slice(global.labels);
    out.masks = slice(global.masks);
    out.valid = slice(global.valid);
    return out;
}

// Whether item `index` of a list is rank `rank`'s to process.
inline bool inShard(std::size_t index, int rank, int worldSize)
{
    return worldSize <= 1 || static_cast<int>(index % static_cast<std::size_t>(worldSize)) == rank;
}

} // namespace wsss::training
