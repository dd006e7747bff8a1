#pragma once
// GradientSync: data-parallel training's two collectives over a ProcessGroup, as PyTorch's DDP
// does them: the model's parameters and buffers broadcast from rank 0 once (every rank starts
// from the same weights), and after each backward the gradients averaged over the ranks in
// buckets (one all-reduce per ~25 MB instead of one per tensor). Every rank must call them at
// the same points of its loop.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstddef>
#include <vector>

namespace wsss::training {

class ProcessGroup;

// DDP's default bucket_cap_mb.
constexpr std::size_t kDefaultBucketBytes = std::size_t{25} << 20;

class GradientSync {
public:
    // The module's trainable parameters (requires_grad), in registration order: the same list on
    // every rank, since every rank builds the same model.
    GradientSync(ProcessGroup &group, torch::nn::Module &module, std::size_t bucketBytes = kDefaultBucketBytes);

    // Rank 0's parameters and buffers (all of them, frozen ones too) on every rank.
    void broadcastFromRankZero();
    // Every gradient replaced by its mean over the ranks. A parameter that got no gradient on
    // any rank keeps none (the optimiser skips it, as in one process); one that got a gradient
    // on some ranks only gets zeros on the others first.
    void allReduceGradients();

    // Buckets of the last allReduceGradients() (for tests and logs).
    std::size_t bucketCount() const { return m_lastBuckets; }

private:
    ProcessGroup &m_group;
    torch::nn::Module &m_module;
    std::vector<torch::Tensor> m_parameters;
    std::size_t m_bucketBytes;
    std::size_t m_lastBuckets = 0;
};

} // namespace wsss::training
