#include "training/distributed/gradient_sync.h"

#include "training/distributed/process_group.h"

#include <torch/types.h>
#include <torch/utils.h>

#include <functional>
#include <string>

namespace wsss::training {

namespace {

// Runs `collective` on the tensors packed into flat buckets of at most `bucketBytes` (a larger
// tensor is a bucket of its own; a bucket holds one dtype and device), then unpacks them in place.
// Returns the number of buckets.
std::size_t inBuckets(const std::vector<torch::Tensor> &tensors, std::size_t bucketBytes,
                      const std::function<void(torch::Tensor &)> &collective)
{
    torch::NoGradGuard noGrad;
    std::size_t buckets = 0;
    std::size_t first = 0;
    while (first < tensors.size()) {
        std::size_t last = first, bytes = 0;
        while (last < tensors.size() && tensors[last].dtype() == tensors[first].dtype() &&
               tensors[last].device() == tensors[first].device()) {
            const std::size_t size = static_cast<std::size_t>(tensors[last].numel()) * tensors[last].element_size();
            if (last > first && bytes + size > bucketBytes)
                break;
            bytes += size;
            ++last;
        }
        std::vector<torch::Tensor> flat;
        for (std::size_t i = first; i < last; ++i)
            flat.push_back(tensors[i].reshape({-1}));
        auto bucket = torch::cat(flat);
        collective(bucket);
        std::int64_t offset = 0;
        for (std::size_t i = first; i < last; ++i) {
            const auto &t = tensors[i];
            t.copy_(bucket.narrow(0, offset, t.numel()).view_as(t));
            offset += t.numel();
        }
        ++buckets;
        first = last;
    }
    return buckets;
}

} // namespace

GradientSync::GradientSync(ProcessGroup &group, torch::nn::Module &module, std::size_t bucketBytes)
    : m_group(group), m_module(module), m_bucketBytes(bucketBytes)
{
    for (const auto &p : module.parameters(true))
        if (p.requires_grad())
            m_parameters.push_back(p);
}

void GradientSync::broadcastFromRankZero()
{
    std::vector<torch::Tensor> tensors = m_module.parameters(true);
    for (const auto &b : m_module.buffers(true))
        tensors.push_back(b);
    inBuckets(tensors, m_bucketBytes, [&](torch::Tensor &bucket) {
        std::vector<torch::Tensor> one{bucket};
        m_group.broadcast(one, "broadcast of rank 0's weights");
    });
}

void GradientSync::allReduceGradients()
{
    if (m_parameters.empty())
        return;
    // Which parameters got a gradient on some rank: the ranks must reduce the same tensors.
    auto got = torch::zeros({static_cast<std::int64_t>(m_parameters.size())},
                            torch::TensorOptions().dtype(torch::kFloat).device(m_parameters.front().device()));
    for (std::size_t i = 0; i < m_parameters.size(); ++i)
        if (m_parameters[i].grad().defined())
            got[static_cast<std::int64_t>(i)] = 1.0f;
    std::vector<torch::Tensor> flags{got};
    m_group.allReduceSum(flags, "all-reduce of the gradients' presence");
    const auto anyRank = flags.front().cpu();

    std::vector<torch::Tensor> grads;
    for (std::size_t i = 0; i < m_parameters.size(); ++i) {
        if (anyRank[static_cast<std::int64_t>(i)].item<float>() == 0)
            continue;
        auto &p = m_parameters[i];
        if (!p.grad().defined())
            p.mutable_grad() = torch::zeros_like(p);
        grads.push_back(p.grad());
    }
    const double world = m_group.worldSize();
    m_lastBuckets = inBuckets(grads, m_bucketBytes, [&](torch::Tensor &bucket) {
        std::vector<torch::Tensor> one{bucket};
        m_group.allReduceSum(one, "all-reduce of the gradients");
        bucket.div_(world);
    });
}

} // namespace wsss::training
