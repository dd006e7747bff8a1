// Data-parallel training over c10d's Gloo (training/distributed/): the launcher's environment,
// two ranks as two threads of this process (each its own ProcessGroupGloo over a TCP store on
// 127.0.0.1) training `cam` on real batches, and a peer that dies or goes silent. The CLI end to
// end, as separate processes through the trainer, is tests/cli/distributed.sh.
#include "support/tensor_compare.h"
#include "support/tiny_demo_run.h"
#include "training/data/dataset.h"
#include "training/distributed/data_shard.h"
#include "training/distributed/gradient_sync.h"
#include "training/distributed/process_group.h"
#include "training/methods/method_registry.h"
#include "vision/core/error.h"
#include "vision/io/voc_reader.h"

#include <QTemporaryDir>
#include <torch/optim/sgd.h>
#include <torch/utils.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <thread>

using namespace wsss;
using namespace wsss::training;

namespace {

// A TCP port free on the loopback now (the kernel's pick for port 0).
int freePort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t length = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &length) != 0)
        qFatal("no free loopback port");
    ::close(fd);
    return ntohs(addr.sin_port);
}

DistributedContext loopback(int rank, int worldSize, int port, std::chrono::milliseconds timeout)
{
    DistributedContext c;
    c.rank = c.localRank = rank;
    c.worldSize = worldSize;
    c.masterAddr = "127.0.0.1";
    c.masterPort = port;
    c.timeout = timeout;
    return c;
}

// Runs body(rank) on `worldSize` threads; returns each rank's error message ("" when none).
std::vector<std::string> runRanks(int worldSize, const std::function<void(int)> &body)
{
    std::vector<std::string> errors(static_cast<std::size_t>(worldSize));
    std::vector<std::thread> threads;
    for (int rank = 0; rank < worldSize; ++rank)
        threads.emplace_back([&, rank] {
            try {
                body(rank);
            } catch (const std::exception &e) {
                errors[static_cast<std::size_t>(rank)] = e.what();
            }
        });
    for (auto &t : threads)
        t.join();
    return errors;
}

// Every parameter, flattened into one vector (a snapshot to compare).
torch::Tensor flatParameters(torch::nn::Module &module)
{
    std::vector<torch::Tensor> flat;
    for (const auto &p : module.parameters(true))
        flat.push_back(p.detach().reshape({-1}).clone());
    return torch::cat(flat);
}

torch::Tensor flatGradients(torch::nn::Module &module)
{
    std::vector<torch::Tensor> flat;
    for (const auto &p : module.parameters(true))
        if (p.grad().defined())
            flat.push_back(p.grad().reshape({-1}).clone());
    return torch::cat(flat);
}

void copyWeights(torch::nn::Module &from, torch::nn::Module &to)
{
    torch::NoGradGuard noGrad;
    const auto source = from.named_parameters(true);
    for (auto &p : to.named_parameters(true))
        p.value().copy_(source[p.key()]);
}

constexpr int kSteps = 3;
constexpr int kPerRank = 2;
constexpr std::uint64_t kSeed = 7;

} // namespace

class TestDistributed : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void environment_data();
    void environment();
    void ranksMatchOneProcessWithTheCombinedBatch_data();
    void ranksMatchOneProcessWithTheCombinedBatch();
    void deadPeerIsAnErrorNotAHang_data();
    void deadPeerIsAnErrorNotAHang();
    void waitForRankZero_data();
    void waitForRankZero();
    void missingRankZeroTimesOut();

private:
    QTemporaryDir m_dir;
};

void TestDistributed::environment_data()
{
    QTest::addColumn<QString>("rank");
    QTest::addColumn<QString>("world");
    QTest::addColumn<QString>("addr");
    QTest::addColumn<QString>("port");
    QTest::addColumn<QString>("timeout");
    QTest::addColumn<QString>("error"); // "" = accepted

    QTest::newRow("complete") << "1" << "2" << "127.0.0.1" << "29500" << "5" << "";
    QTest::newRow("no RANK") << "" << "2" << "127.0.0.1" << "29500" << "" << "RANK is not set";
    QTest::newRow("no WORLD_SIZE") << "0" << "" << "127.0.0.1" << "29500" << "" << "WORLD_SIZE is not set";
    QTest::newRow("RANK past WORLD_SIZE") << "2" << "2" << "127.0.0.1" << "29500" << "" << "RANK=\"2\" is not a rank from 0 to WORLD_SIZE-1 = 1";
    QTest::newRow("no MASTER_ADDR") << "0" << "2" << "" << "29500" << "" << "MASTER_ADDR is not set";
    QTest::newRow("bad MASTER_PORT") << "0" << "2" << "127.0.0.1" << "29500x" << "" << "MASTER_PORT=\"29500x\" is not a TCP port";
    QTest::newRow("bad timeout") << "0" << "2" << "127.0.0.1" << "29500" << "0" << "WSSS_DIST_TIMEOUT=\"0\" is not a timeout";
}

void TestDistributed::environment()
{
    QFETCH(QString, rank);
    QFETCH(QString, world);
    QFETCH(QString, addr);
    QFETCH(QString, port);
    QFETCH(QString, timeout);
    QFETCH(QString, error);
    const std::map<const char *, QString> variables{{"RANK", rank},        {"WORLD_SIZE", world},
                                                    {"MASTER_ADDR", addr}, {"MASTER_PORT", port},
                                                    {"WSSS_DIST_TIMEOUT", timeout}, {"LOCAL_RANK", ""}};
    for (const auto &[name, value] : variables)
        value.isEmpty() ? qunsetenv(name) : qputenv(name, value.toUtf8());
    if (error.isEmpty()) {
        const auto c = DistributedContext::fromEnvironment();
        QCOMPARE(c.rank, 1);
        QCOMPARE(c.localRank, 1); // LOCAL_RANK defaults to RANK
        QCOMPARE(c.worldSize, 2);
        QCOMPARE(c.masterAddr, std::string("127.0.0.1"));
        QCOMPARE(c.masterPort, 29500);
        QCOMPARE(c.timeout.count(), 5000);
    } else {
        WSSS_VERIFY_THROWS_WITH(DistributedContext::fromEnvironment(), error.toStdString());
    }
    for (const auto &[name, value] : variables)
        qunsetenv(name);
}

// Two ranks, each drawing the global batch and keeping its slice, their gradients averaged:
// after every step both hold the very same weights, and those of one process that trains on the
// whole global batch. SGD, not the method's AdamW: its update is proportional to the gradient,
// so a sum where the mean belongs (or a wrong slice) shows.
void TestDistributed::ranksMatchOneProcessWithTheCombinedBatch_data()
{
    QTest::addColumn<qulonglong>("bucketBytes");
    QTest::addColumn<bool>("manyBuckets");
    QTest::newRow("DDP's 25 MB buckets") << qulonglong(kDefaultBucketBytes) << false;
    QTest::newRow("64 KB buckets") << qulonglong(64 * 1024) << true;
}

void TestDistributed::ranksMatchOneProcessWithTheCombinedBatch()
{
    QFETCH(qulonglong, bucketBytes);
    QFETCH(bool, manyBuckets);
    const std::string data = (std::filesystem::path(m_dir.path().toStdString()) / "data").string();
    if (!std::filesystem::exists(data))
        test::makeTinyDemoData(data, 8, 2);
    const auto dataset = vision::loadVocDataset(data, "train");
    const int classes = dataset.labelMap.foregroundCount();
    const MethodSpec spec{"cam", "vit_test_patch8", classes};
    constexpr double kLr = 0.5;

    // One process, the global batch of 2 × kPerRank.
    torch::manual_seed(kSeed);
    auto single = createMethod(spec);
    auto initial = createMethod(spec);
    copyWeights(*single, *initial);
    single->train();
    std::vector<torch::Tensor> singleWeights, singleGrads;
    {
        TrainingSet set(dataset, 64, false);
        std::mt19937_64 rng(kSeed);
        torch::optim::SGD optimizer(single->parameters(), torch::optim::SGDOptions(kLr));
        for (int step = 0; step < kSteps; ++step) {
            const Batch batch = set.next(rng, 2 * kPerRank, single->backboneInfo().norm, true);
            optimizer.zero_grad();
            single->trainStep(batch).total().backward();
            singleGrads.push_back(flatGradients(*single));
            optimizer.step();
            singleWeights.push_back(flatParameters(*single));
        }
    }

    // Two ranks; rank 1 starts from other weights, so the broadcast is what makes them equal.
    const int port = freePort();
    std::vector<std::vector<torch::Tensor>> weights(2), grads(2);
    std::vector<std::size_t> buckets(2);
    const auto errors = runRanks(2, [&](int rank) {
        ProcessGroup group(loopback(rank, 2, port, std::chrono::seconds(30)), torch::kCPU);
        auto method = createMethod(spec);
        if (rank == 0)
            copyWeights(*initial, *method);
        method->train();
        GradientSync sync(group, *method, bucketBytes);
        sync.broadcastFromRankZero();
        TrainingSet set(dataset, 64, false);
        std::mt19937_64 rng(kSeed);
        torch::optim::SGD optimizer(method->parameters(), torch::optim::SGDOptions(kLr));
        for (int step = 0; step < kSteps; ++step) {
            const Batch global = set.next(rng, 2 * kPerRank, method->backboneInfo().norm, true);
            const Batch mine = rankSlice(global, rank, kPerRank);
            optimizer.zero_grad();
            method->trainStep(mine).total().backward();
            sync.allReduceGradients();
            grads[static_cast<std::size_t>(rank)].push_back(flatGradients(*method));
            optimizer.step();
            weights[static_cast<std::size_t>(rank)].push_back(flatParameters(*method));
        }
        buckets[static_cast<std::size_t>(rank)] = sync.bucketCount();
    });
    QVERIFY2(errors[0].empty(), errors[0].c_str());
    QVERIFY2(errors[1].empty(), errors[1].c_str());
    QCOMPARE(buckets[0] > 1, manyBuckets);
    for (int step = 0; step < kSteps; ++step) {
        const auto s = static_cast<std::size_t>(step);
        QVERIFY2(torch::equal(weights[0][s], weights[1][s]), qPrintable(QString("step %1: ranks differ").arg(step + 1)));
        WSSS_VERIFY_CLOSE(grads[0][s], singleGrads[s], 1e-6);
        WSSS_VERIFY_CLOSE(weights[0][s], singleWeights[s], 1e-5);
    }
    // The steps moved the weights far beyond the tolerance: the comparison has teeth.
    QVERIFY((singleWeights.back() - flatParameters(*initial)).abs().max().item<double>() > 1e-3);
}

// A peer that exits (its sockets close) or stays silent past the timeout: the other rank's next
// collective throws, naming itself and the timeout, well before a hang would be noticed.
void TestDistributed::deadPeerIsAnErrorNotAHang_data()
{
    QTest::addColumn<bool>("exits");
    QTest::newRow("peer exits") << true;
    QTest::newRow("peer silent") << false;
}

void TestDistributed::deadPeerIsAnErrorNotAHang()
{
    QFETCH(bool, exits);
    const int port = freePort();
    const auto timeout = std::chrono::seconds(3);
    std::atomic<bool> rankZeroDone{false};
    double seconds = 0;
    const auto errors = runRanks(2, [&](int rank) {
        ProcessGroup group(loopback(rank, 2, port, timeout), torch::kCPU);
        std::vector<torch::Tensor> t{torch::ones({4})};
        group.allReduceSum(t, "first all-reduce"); // both alive: it works
        if (rank == 1) {
            if (!exits) // silent: alive, but calls nothing until rank 0 gave up
                while (!rankZeroDone)
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
            return; // exits: the group is destroyed, its connections close
        }
        if (exits)
            std::this_thread::sleep_for(std::chrono::milliseconds(300)); // rank 1 gone by now
        const auto start = std::chrono::steady_clock::now();
        try {
            group.allReduceSum(t, "all-reduce of the gradients");
        } catch (...) {
            seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            rankZeroDone = true;
            throw;
        }
        rankZeroDone = true;
    });
    QVERIFY2(errors[1].empty(), errors[1].c_str());
    QVERIFY2(!errors[0].empty(), "rank 0 did not notice its peer");
    const std::string &message = errors[0];
    QVERIFY2(message.find("distributed rank 0 of 2: all-reduce of the gradients failed") != std::string::npos,
             message.c_str());
    QVERIFY2(message.find("a peer process exited or did not answer within 3 s (WSSS_DIST_TIMEOUT)") != std::string::npos,
             message.c_str());
    QVERIFY2(seconds < 3 + 5.0, qPrintable(QString("took %1 s").arg(seconds)));
}

// Ranks waiting for rank 0's save or validation wait past the group's timeout; a rank 0 that
// exits meanwhile ends the wait at once.
void TestDistributed::waitForRankZero_data()
{
    QTest::addColumn<bool>("rankZeroExits");
    QTest::newRow("rank 0 slow") << false;
    QTest::newRow("rank 0 exits") << true;
}

void TestDistributed::waitForRankZero()
{
    QFETCH(bool, rankZeroExits);
    const int port = freePort();
    double waited = 0;
    const auto errors = runRanks(2, [&](int rank) {
        // 3 s: long enough for two threads of a busy machine to meet, short against the wait.
        ProcessGroup group(loopback(rank, 2, port, std::chrono::seconds(3)), torch::kCPU);
        group.barrier("start");
        if (rank == 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(4500)); // rank 0 saving, past the 3 s
            if (rankZeroExits)
                return;
        }
        const auto start = std::chrono::steady_clock::now();
        group.waitForRankZero("waiting for rank 0's save", std::chrono::seconds(60));
        if (rank == 1)
            waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::vector<torch::Tensor> t{torch::ones({2})};
        group.allReduceSum(t, "all-reduce after the wait");
        QCOMPARE(t.front()[0].item<float>(), 2.0f);
    });
    QVERIFY2(errors[0].empty(), errors[0].c_str());
    if (rankZeroExits) {
        QVERIFY2(errors[1].find("distributed rank 1 of 2: waiting for rank 0's save failed") != std::string::npos,
                 errors[1].c_str());
    } else {
        QVERIFY2(errors[1].empty(), errors[1].c_str());
        QVERIFY2(waited > 4.0, qPrintable(QString("waited %1 s").arg(waited)));
    }
}

// A rank whose rank 0 never comes: the store's timeout, with what to check.
void TestDistributed::missingRankZeroTimesOut()
{
    const auto start = std::chrono::steady_clock::now();
    WSSS_VERIFY_THROWS_WITH(ProcessGroup(loopback(1, 2, freePort(), std::chrono::seconds(2)), torch::kCPU),
                            "the ranks did not meet within 2 s");
    QVERIFY(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
}

QTEST_MAIN(TestDistributed)
#include "test_distributed.moc"
