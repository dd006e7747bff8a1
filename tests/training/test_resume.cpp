// Resuming a stopped run: the same loss curve as an uninterrupted run, checkpoints with their
// optimiser state, and a non-finite loss that stops the run but keeps the last good checkpoint.
#include "training/checkpoint/checkpoint.h"
#include "training/data/demo_generator.h"
#include "training/data/fashion_mnist.h"
#include "training/engine/cancel_token.h"
#include "training/loop/trainer.h"
#include "vision/core/error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

using namespace wsss;
using namespace wsss::training;
namespace fs = std::filesystem;

namespace {

// step → total loss, from a run's metrics.jsonl.
std::map<std::int64_t, double> lossCurve(const fs::path &run)
{
    std::map<std::int64_t, double> curve;
    std::ifstream in(run / "metrics.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        const auto j = nlohmann::json::parse(line);
        curve[j.at("step").get<std::int64_t>()] = j.at("loss").at("total").get<double>();
    }
    return curve;
}

int resumeStateCount(const fs::path &run)
{
    int n = 0;
    for (const auto &e : fs::directory_iterator(run))
        n += e.path().extension() == ".state";
    return n;
}

} // namespace

class TestResume : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::string m_data;

    TrainOptions options(const std::string &out) const
    {
        TrainOptions o;
        o.method = "cam";
        o.data = m_data;
        o.out = (fs::path(m_dir.path().toStdString()) / out).string();
        o.backbone = "vit_test_patch8";
        o.weights = "none";
        o.device = "cpu";
        o.size = 32;
        o.batch = 4;
        o.iters = 12;
        o.warmup = 3;
        o.logEvery = 1;
        o.saveEvery = 4;
        o.valSplit = "none";
        o.sets = {"pooling=gap"};
        return o;
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (!fs::exists(defaultFashionMnistDir()))
            QSKIP("Fashion-MNIST (Debian package dataset-fashion-mnist) is not installed");
        DemoDataOptions d;
        d.out = m_data = m_dir.filePath("data").toStdString();
        d.train = 10; // not a multiple of the batch: the resumed sampler is mid-epoch
        d.val = 2;
        d.size = 32;
        d.seed = 5;
        generateDemoData(d);
    }

    void resumedRunFollowsTheSameCurve()
    {
        const auto whole = options("whole");
        train(whole);
        const auto expected = lossCurve(whole.out);
        QCOMPARE(static_cast<int>(expected.size()), 12);
        QCOMPARE(resumeStateCount(whole.out), 0); // a finished run keeps no resume state

        // Stopped after step 6: the checkpoint on disk is step 4's, with its optimiser state.
        const auto stopped = options("stopped");
        CancelToken cancel;
        TrainCallbacks cb;
        cb.onStep = [&](const StepLog &log) {
            if (log.step == 6)
                cancel.cancel();
        };
        QVERIFY_THROWS_EXCEPTION(Cancelled, train(stopped, cb, &cancel));
        QCOMPARE(readCheckpointHeader(stopped.out + "/checkpoint.wsss").step, std::int64_t{4});
        QVERIFY(fs::exists(fs::path(stopped.out) / "resume-4.state"));

        // Resume with only the folder given: the stored options are used.
        TrainOptions resume;
        resume.out = stopped.out;
        resume.resume = true;
        resume.device = "cpu";
        std::vector<std::int64_t> steps;
        TrainCallbacks cb2;
        cb2.onStep = [&](const StepLog &log) { steps.push_back(log.step); };
        const auto result = train(resume, cb2);
        QCOMPARE(steps.front(), std::int64_t{5});
        QCOMPARE(steps.back(), std::int64_t{12});
        QCOMPARE(result.steps, std::int64_t{12});

        const auto resumed = lossCurve(stopped.out);
        QCOMPARE(resumed.size(), expected.size()); // steps 5 and 6 logged before the stop were replaced
        for (const auto &[step, loss] : expected)
            QVERIFY2(std::abs(resumed.at(step) - loss) <= 1e-5 * std::max(1.0, std::abs(loss)),
                     qPrintable(QString("step %1: %2 resumed vs %3").arg(step).arg(resumed.at(step)).arg(loss)));
        QCOMPARE(readCheckpointHeader(stopped.out + "/checkpoint.wsss").step, std::int64_t{12});
        QCOMPARE(resumeStateCount(stopped.out), 0);
    }

    void resumeRejectsWhatDoesNotFit()
    {
        TrainOptions nothing;
        nothing.out = m_dir.filePath("nowhere").toStdString();
        nothing.resume = true;
        try {
            train(nothing);
            QFAIL("resuming a folder without a checkpoint must fail");
        } catch (const Error &e) {
            QVERIFY2(QString(e.what()).contains("no checkpoint"), e.what());
        }

        // A finished run cannot be resumed; another method cannot take over a run.
        const auto done = options("done");
        auto shortRun = done;
        shortRun.iters = 2;
        train(shortRun);
        TrainOptions again;
        again.out = done.out;
        again.resume = true;
        try {
            train(again);
            QFAIL("resuming a finished run must fail");
        } catch (const Error &e) {
            QVERIFY2(QString(e.what()).contains("already finished"), e.what());
        }
        again.method = "supervised";
        QVERIFY_THROWS_EXCEPTION(Error, train(again));
    }

    void nonFiniteLossStopsAndKeepsTheLastCheckpoint()
    {
        // A learning rate this large sends the weights past float range after the first
        // update, so the second step's loss is NaN.
        auto o = options("nan");
        o.lr = 1e30;
        o.warmup = 0;
        o.saveEvery = 1;
        try {
            train(o);
            QFAIL("a non-finite loss must stop the run");
        } catch (const Error &e) {
            const QString message = e.what();
            QVERIFY2(message.contains("not finite at step 2"), e.what());
            QVERIFY2(message.contains("cls"), e.what()); // names the loss term
            QVERIFY2(message.contains("checkpoint of step 1"), e.what());
        }
        QCOMPARE(readCheckpointHeader(o.out + "/checkpoint.wsss").step, std::int64_t{1});
        QVERIFY(fs::exists(fs::path(o.out) / "resume-1.state"));
    }
};

QTEST_MAIN(TestResume)
#include "test_resume.moc"
