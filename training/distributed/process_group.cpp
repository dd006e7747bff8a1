#include "training/distributed/process_group.h"

#include "vision/core/error.h"

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <limits>

namespace wsss::training {

namespace {

// The variable's value, or nullptr when unset or empty.
const char *envValue(const char *name)
{
    const char *value = std::getenv(name);
    return value && *value ? value : nullptr;
}

long envInteger(const char *name, long low, long high, const std::string &expected)
{
    const char *text = envValue(name);
    if (!text)
        throw Error(std::string("--distributed: the environment variable ") + name + " is not set (" + expected +
                    "; a launcher such as torchrun sets it, or set it yourself: see README \"Training across processes\")");
    char *end = nullptr;
    errno = 0;
    const long value = std::strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < low || value > high)
        throw Error(std::string("--distributed: ") + name + "=\"" + text + "\" is not " + expected);
    return value;
}

std::string messageOf(const std::exception &e)
{
    if (const auto *c10 = dynamic_cast<const c10::Error *>(&e))
        return c10->what_without_backtrace();
    return e.what();
}

bool isLoopback(const std::string &host)
{
    return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

} // namespace

DistributedContext DistributedContext::fromEnvironment()
{
    DistributedContext c;
    c.worldSize = static_cast<int>(envInteger("WORLD_SIZE", 1, 1 << 16, "a positive number of processes"));
    c.rank = static_cast<int>(
        envInteger("RANK", 0, c.worldSize - 1, "a rank from 0 to WORLD_SIZE-1 = " + std::to_string(c.worldSize - 1)));
    c.localRank = envValue("LOCAL_RANK") ? static_cast<int>(envInteger("LOCAL_RANK", 0, 1 << 16, "a non-negative index"))
                                         : c.rank;
    const char *addr = envValue("MASTER_ADDR");
    if (!addr)
        throw Error("--distributed: the environment variable MASTER_ADDR is not set (the host name or address of "
                    "rank 0, e.g. 127.0.0.1 on one machine)");
    c.masterAddr = addr;
    c.masterPort = static_cast<int>(envInteger("MASTER_PORT", 1, 65535, "a TCP port from 1 to 65535"));
    if (envValue("WSSS_DIST_TIMEOUT"))
        c.timeout = std::chrono::seconds(envInteger("WSSS_DIST_TIMEOUT", 1, 24 * 3600, "a timeout in seconds (1 to 86400)"));
    return c;
}

std::string DistributedContext::describe() const
{
    return "rank " + std::to_string(rank) + " of " + std::to_string(worldSize);
}

struct ProcessGroup::Impl {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroup> group;
    torch::Device device = torch::kCPU;
    std::uint64_t rankZeroWaits = 0;
};

ProcessGroup::ProcessGroup(const DistributedContext &context, const torch::Device &device)
    : m_context(context), m_impl(std::make_unique<Impl>())
{
    const auto &c = m_context;
    const std::string where = "--distributed (" + c.describe() + ", store " + c.masterAddr + ":" +
                              std::to_string(c.masterPort) + ")";
    const long seconds = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(c.timeout).count());
    m_impl->device = device;
    const auto didNotMeet = [&](const std::exception &e) {
        return Error(where + ": the ranks did not meet within " + std::to_string(seconds) +
                     " s (WSSS_DIST_TIMEOUT; is every rank started, with the same WORLD_SIZE, MASTER_ADDR and "
                     "MASTER_PORT, and is the port free on rank 0?): " + messageOf(e));
    };
    try {
        // Rank 0 serves the store and waits for every other rank to connect: a rank that never
        // comes is the timeout's error on rank 0, a rank 0 that never comes the same on the others.
        c10d::TCPStoreOptions options;
        options.port = static_cast<std::uint16_t>(c.masterPort);
        options.isServer = c.rank == 0;
        options.numWorkers = static_cast<std::size_t>(c.worldSize);
        options.waitWorkers = true;
        options.timeout = c.timeout;
        m_impl->store = c10::make_intrusive<c10d::TCPStore>(c.masterAddr, options);
    } catch (const std::exception &e) {
        throw didNotMeet(e);
    }
    try {
        if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
            auto options = c10d::ProcessGroupNCCL::Options::create();
            options->timeout = c.timeout;
            m_impl->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(m_impl->store, c.rank, c.worldSize, options);
#else
            throw Error("--distributed on " + device.str() +
                        ": NCCL not available in this LibTorch (it was built without USE_C10D_NCCL); use --device cpu "
                        "(Gloo), or a LibTorch built with NCCL");
#endif
        } else {
            auto options = c10d::ProcessGroupGloo::Options::create(c.timeout);
            // GLOO_SOCKET_IFNAME picks the network interface, as in PyTorch; on one machine the
            // loopback; else the address this host's name resolves to.
            if (const char *ifname = envValue("GLOO_SOCKET_IFNAME"))
                options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
            else if (isLoopback(c.masterAddr))
                options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
            else
                options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
            m_impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(m_impl->store, c.rank, c.worldSize, options);
        }
    } catch (const Error &) {
        throw;
    } catch (const std::exception &e) { // the group's own rendezvous, over the store
        throw didNotMeet(e);
    }
}

ProcessGroup::~ProcessGroup() = default;

namespace {

// Waits for a collective; a peer that exited or stayed silent past the timeout becomes one error.
std::string failure(const DistributedContext &c, const std::string &what, std::chrono::milliseconds timeout,
                    const std::exception &e)
{
    const long seconds = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(timeout).count());
    return "distributed " + c.describe() + ": " + what + " failed: a peer process exited or did not answer within " +
           std::to_string(seconds) + " s" + (timeout == c.timeout ? " (WSSS_DIST_TIMEOUT)" : "") + ": " + messageOf(e);
}

void await(const c10::intrusive_ptr<c10d::Work> &work, const DistributedContext &c, const std::string &what)
{
    try {
        work->wait();
    } catch (const std::exception &e) {
        throw Error(failure(c, what, c.timeout, e));
    }
}

} // namespace

void ProcessGroup::allReduceSum(std::vector<torch::Tensor> &tensors, const std::string &what)
{
    if (tensors.empty())
        return;
    await(m_impl->group->allreduce(tensors, c10d::AllreduceOptions{}), m_context, what);
}

void ProcessGroup::broadcast(std::vector<torch::Tensor> &tensors, const std::string &what, int root)
{
    if (tensors.empty())
        return;
    c10d::BroadcastOptions options;
    options.rootRank = root;
    await(m_impl->group->broadcast(tensors, options), m_context, what);
}

void ProcessGroup::barrier(const std::string &what)
{
    await(m_impl->group->barrier(c10d::BarrierOptions{}), m_context, what);
}

void ProcessGroup::waitForRankZero(const std::string &what, std::chrono::milliseconds timeout)
{
    // Gloo's barrier keeps the group's timeout whatever BarrierOptions says (LibTorch 1.13), so
    // the long wait is on a store key rank 0 sets; the store lives in rank 0, so its exit breaks
    // the wait at once. Every rank calls this at the same points, so the counter names one key.
    const std::string key = "wsss/rank0/" + std::to_string(m_impl->rankZeroWaits++);
    try {
        if (m_context.rank == 0)
            m_impl->store->set(key, std::vector<std::uint8_t>{1});
        else
            m_impl->store->wait({key}, timeout);
    } catch (const std::exception &e) {
        throw Error(failure(m_context, what, timeout, e));
    }
}

std::vector<std::string> ProcessGroup::gatherText(const std::string &key, const std::string &text)
{
    const auto keyOf = [&](int rank) { return "wsss/" + key + "/" + std::to_string(rank); };
    m_impl->store->set(keyOf(m_context.rank), std::vector<std::uint8_t>(text.begin(), text.end()));
    // The barrier, not the store, waits for the slowest rank: a rank that exits is seen at once.
    barrier("gathering " + key);
    std::vector<std::string> texts;
    if (m_context.rank != 0)
        return texts;
    for (int rank = 0; rank < m_context.worldSize; ++rank) {
        const auto bytes = m_impl->store->get(keyOf(rank));
        texts.emplace_back(bytes.begin(), bytes.end());
    }
    return texts;
}

std::map<std::string, double> ProcessGroup::mean(const std::map<std::string, double> &values, const std::string &what)
{
    // Keys in map order, the same on every rank; a NaN on one rank is a NaN on all, so every
    // rank stops at the same step.
    std::vector<double> flat;
    for (const auto &[key, value] : values)
        flat.push_back(value);
    std::vector<torch::Tensor> tensors{torch::tensor(flat, torch::kDouble).to(m_impl->device)};
    allReduceSum(tensors, what);
    const auto summed = tensors.front().cpu();
    std::map<std::string, double> out;
    std::size_t i = 0;
    for (const auto &[key, value] : values)
        out[key] = summed[static_cast<std::int64_t>(i++)].item<double>() / m_context.worldSize;
    return out;
}

} // namespace wsss::training
