#pragma once
// Training across processes with LibTorch's own c10d (the engine under PyTorch's DDP): the
// launcher's environment read into a DistributedContext, and a ProcessGroup joining the other
// ranks through a TCP store on rank 0. Gloo on the CPU; NCCL on CUDA when this LibTorch has it.
// Every collective is bounded by the context's timeout, so a peer that died is an error naming
// this rank and the timeout, not a hang.
#include <torch/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wsss::training {

// Where this process sits in a distributed run: what torchrun and the like set.
struct DistributedContext {
    int rank = 0;               // RANK: 0 … worldSize-1; rank 0 hosts the store and writes the run's files
    int worldSize = 1;          // WORLD_SIZE: processes in the run, on all machines
    int localRank = 0;          // LOCAL_RANK: this process's index on its machine (its CUDA device); default RANK
    std::string masterAddr;     // MASTER_ADDR: host of rank 0, reachable by every rank
    int masterPort = 29500;     // MASTER_PORT: rank 0's store listens here (torchrun's default)
    std::chrono::milliseconds timeout{60000}; // WSSS_DIST_TIMEOUT (seconds): a peer silent this long is an error

    // Reads RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT (required) and LOCAL_RANK,
    // WSSS_DIST_TIMEOUT (optional); wsss::Error naming the variable that is missing or malformed.
    static DistributedContext fromEnvironment();
    // "rank 1 of 2": how messages name this process.
    std::string describe() const;
};

// One process's membership of the run. Collectives block until every rank has called them (in
// the same order), or throw wsss::Error after the context's timeout.
class ProcessGroup {
public:
    // Connects to the other ranks (rank 0 opens the store and waits for them). `device`: where
    // the tensors of the collectives live — CPU takes Gloo, CUDA NCCL.
    ProcessGroup(const DistributedContext &context, const torch::Device &device);
    ~ProcessGroup();
    ProcessGroup(const ProcessGroup &) = delete;
    ProcessGroup &operator=(const ProcessGroup &) = delete;

    int rank() const { return m_context.rank; }
    int worldSize() const { return m_context.worldSize; }
    const DistributedContext &context() const { return m_context; }

    // In place: the element-wise sum over the ranks (contiguous tensors of one device).
    void allReduceSum(std::vector<torch::Tensor> &tensors, const std::string &what);
    // In place: rank `root`'s values on every rank.
    void broadcast(std::vector<torch::Tensor> &tensors, const std::string &what, int root = 0);
    // Waits for every rank.
    void barrier(const std::string &what);
    // The other ranks wait for rank 0 to call this too, up to `timeout`, however much longer than
    // the context's (rank 0 alone validating or saving); a rank 0 that exits is an error at once.
    // Rank 0 does not wait.
    void waitForRankZero(const std::string &what, std::chrono::milliseconds timeout);
    // Rank 0 gets every rank's text in rank order (its own first), the others nothing. For small
    // results, through the store; the ranks must arrive within the context's timeout.
    std::vector<std::string> gatherText(const std::string &key, const std::string &text);
    // Each value averaged over the ranks (the same keys on every rank: a step's named losses).
    std::map<std::string, double> mean(const std::map<std::string, double> &values, const std::string &what);

private:
    struct Impl;
    DistributedContext m_context;
    std::unique_ptr<Impl> m_impl;
};

} // namespace wsss::training
