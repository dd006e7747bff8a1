// Resuming a stopped run: the same loss curve as an uninterrupted run, checkpoints with their
// optimiser state, and a non-finite loss that stops the run but keeps the last good checkpoint.
#include "support/dead_pid.h"
#include "training/checkpoint/checkpoint.h"
#include "training/data/demo_generator.h"
#include "training/data/fashion_mnist.h"
#include "training/engine/cancel_token.h"
#include "training/loop/trainer.h"
#include "vision/core/error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <cmath>
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

// The options of `wsss train --resume --out OUT`.
TrainOptions resuming(const std::string &out)
{
    TrainOptions o;
    o.out = out;
    o.resume = true;
    return o;
}

// Trains `o` and stops it after step `last` (a cancel, as the studio's Stop): the checkpoint on disk
// is then the last multiple of saveEvery before it.
bool stopAfter(const TrainOptions &o, std::int64_t last)
{
    CancelToken cancel;
    TrainCallbacks cb;
    cb.onStep = [&](const StepLog &log) {
        if (log.step == last)
            cancel.cancel();
    };
    try {
        train(o, cb, &cancel);
    } catch (const Cancelled &) {
        return true;
    }
    return false;
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
            QFAIL("Fashion-MNIST (Debian package dataset-fashion-mnist) is not installed: packaging/install-deps.sh installs it");
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
        QVERIFY(stopAfter(stopped, 6));
        QCOMPARE(readCheckpointHeader(stopped.out + "/checkpoint.wsss").step, std::int64_t{4});
        QVERIFY(fs::exists(fs::path(stopped.out) / "resume-4.state"));

        // Resume with only the folder given: the stored options are used.
        auto resume = resuming(stopped.out);
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

    // --precision bf16: the steps run under autocast (the losses differ from float32's by
    // bfloat16's rounding, not more), the run stores it, and --resume keeps it.
    void bf16RunsUnderAutocastAndResumesSo()
    {
        const auto reference = options("fp32_whole");
        train(reference);
        const auto curve32 = lossCurve(reference.out);
        auto whole = options("bf16_whole");
        whole.precision = "bf16";
        train(whole);
        const auto curve16 = lossCurve(whole.out);
        QCOMPARE(curve16.size(), curve32.size());
        const double first32 = curve32.at(1), first16 = curve16.at(1);
        QVERIFY2(first16 != first32 && std::abs(first16 - first32) < 0.05 * std::abs(first32),
                 qPrintable(QString("step 1: bf16 %1, fp32 %2").arg(first16).arg(first32)));
        QCOMPARE(readCheckpointHeader(whole.out + "/checkpoint.wsss").train.at("precision").get<std::string>(),
                 std::string("bf16"));

        auto stopped = options("bf16_stopped");
        stopped.precision = "bf16";
        QVERIFY(stopAfter(stopped, 6));
        auto resume = resuming(stopped.out);
        resume.device = "cpu";
        train(resume); // precision not given: the stored one
        const auto resumed = lossCurve(stopped.out);
        for (const auto &[step, loss] : curve16)
            QVERIFY2(std::abs(resumed.at(step) - loss) <= 1e-5 * std::max(1.0, std::abs(loss)),
                     qPrintable(QString("step %1: %2 resumed vs %3").arg(step).arg(resumed.at(step)).arg(loss)));

        auto wrong = options("fp16");
        wrong.precision = "fp16";
        const auto problems = optionProblems(wrong);
        QCOMPARE(static_cast<int>(problems.size()), 1);
        QVERIFY2(QString::fromStdString(problems.front()).contains("--precision: precision \"fp16\" is not known"),
                 problems.front().c_str());
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
        auto again = resuming(done.out);
        try {
            train(again);
            QFAIL("resuming a finished run must fail");
        } catch (const Error &e) {
            QVERIFY2(QString(e.what()).contains("already finished"), e.what());
        }
        again.method = "supervised";
        QVERIFY_THROWS_EXCEPTION(Error, train(again));
    }

    void killedAtAnyPointOfASaveResumes_data()
    {
        QTest::addColumn<int>("point");
        QTest::addColumn<int>("resumedFrom"); // the checkpoint step the resumed run starts at
        QTest::newRow("new state written") << int(SavePoint::StateWritten) << 4;
        QTest::newRow("checkpoint switched") << int(SavePoint::CheckpointWritten) << 8;
        QTest::newRow("old states removed") << int(SavePoint::OldStatesRemoved) << 8;
    }

    // A kill between two writes of the save of step 8 (the files stay as the kill leaves them:
    // the callback throws past every cleanup of train()), then --resume: the run goes on from the
    // checkpoint on disk with its own optimiser state and gives the uninterrupted loss curve.
    void killedAtAnyPointOfASaveResumes()
    {
        QFETCH(int, point);
        QFETCH(int, resumedFrom);
        struct Killed {};
        const auto whole = options("whole_kill");
        if (!fs::exists(whole.out + "/checkpoint.wsss"))
            train(whole);
        const auto expected = lossCurve(whole.out);

        const auto o = options("kill_" + std::to_string(point));
        TrainCallbacks cb;
        cb.onSave = [&](SavePoint at, std::int64_t step) {
            if (step == 8 && int(at) == point)
                throw Killed{};
        };
        QVERIFY_THROWS_EXCEPTION(Killed, train(o, cb));
        // A write the kill cut short leaves its temporary behind: the next start removes it.
        const fs::path torn = fs::path(o.out) / (".checkpoint.wsss.tmp-" + std::to_string(wsss::test::deadPid()) + "-0-1");
        std::ofstream(torn) << "half a checkpoint";

        auto resume = resuming(o.out);
        resume.device = "cpu";
        std::int64_t first = -1;
        TrainCallbacks cb2;
        cb2.onStep = [&](const StepLog &log) {
            if (first < 0)
                first = log.step;
        };
        train(resume, cb2);
        QCOMPARE(first, std::int64_t{resumedFrom + 1});
        QVERIFY(!fs::exists(torn));
        const auto resumed = lossCurve(o.out);
        QCOMPARE(resumed.size(), expected.size());
        for (const auto &[step, loss] : expected)
            QVERIFY2(std::abs(resumed.at(step) - loss) <= 1e-5 * std::max(1.0, std::abs(loss)),
                     qPrintable(QString("step %1: %2 resumed vs %3").arg(step).arg(resumed.at(step)).arg(loss)));
    }

    void aFolderHoldingARunIsNotStartedOver()
    {
        auto o = options("finished");
        o.iters = 2;
        train(o);
        const auto before = fs::last_write_time(o.out + "/checkpoint.wsss");
        try {
            train(o);
            QFAIL("training into a finished run's folder must be refused");
        } catch (const Error &e) {
            QVERIFY2(QString(e.what()).contains("already holds a cam run (finished, 2 steps)"), e.what());
            QVERIFY2(QString(e.what()).contains("--force"), e.what());
        }
        QVERIFY(fs::last_write_time(o.out + "/checkpoint.wsss") == before);
        o.force = true;
        o.iters = 3;
        train(o);
        QCOMPARE(readCheckpointHeader(o.out + "/checkpoint.wsss").step, std::int64_t{3});
    }

    void aRunFolderIsLockedWhileItTrains()
    {
        auto o = options("locked");
        TrainCallbacks cb;
        std::string second;
        cb.onStep = [&](const StepLog &log) {
            if (log.step != 2)
                return;
            auto other = options("locked");
            other.force = true; // past the refusal of a folder holding a run: to the lock
            try {
                train(other);
            } catch (const Error &e) {
                second = e.what();
            }
        };
        train(o, cb);
        QVERIFY2(QString::fromStdString(second).contains("is in use by another process (pid " +
                                                         QString::number(QCoreApplication::applicationPid()) +
                                                         ", wsss train --method cam"),
                 second.c_str());
        QVERIFY(!fs::exists(fs::path(o.out) / ".wsss.lock")); // released with the run
    }

    void aCheckpointOfAnotherRunIsNamed()
    {
        // A stopped cam run whose checkpoint is replaced by a stopped supervised run's of the same step.
        auto cam = options("swap_cam");
        auto sup = options("swap_supervised");
        sup.method = "supervised";
        sup.sets = {};
        for (auto *o : {&cam, &sup})
            QVERIFY(stopAfter(*o, 5));
        fs::copy_file(sup.out + "/checkpoint.wsss", cam.out + "/checkpoint.wsss", fs::copy_options::overwrite_existing);
        auto resume = resuming(cam.out);
        try {
            train(resume);
            QFAIL("a checkpoint of another run must be refused");
        } catch (const Error &e) {
            QVERIFY2(QString(e.what()).contains("resume-4.state\" holds the optimiser of a cam vit_test_patch8 run, "
                                                "but the checkpoint beside it is a supervised vit_test_patch8 model"),
                     e.what());
        }
    }

    void aMovedDatasetIsGivenAnew()
    {
        auto o = options("moved");
        QVERIFY(stopAfter(o, 5));
        const std::string moved = m_dir.filePath("data_moved").toStdString();
        fs::rename(m_data, moved);
        auto resume = resuming(o.out);
        try {
            train(resume);
            fs::rename(moved, m_data);
            QFAIL("resuming without the dataset must say where it was");
        } catch (const Error &e) {
            QVERIFY2(QString(e.what()).contains("the run's dataset \"" + QString::fromStdString(fs::absolute(m_data).string()) +
                                                "\" is not there; give --data"),
                     e.what());
        }
        resume.data = moved;
        const auto result = train(resume);
        fs::rename(moved, m_data);
        QCOMPARE(result.steps, std::int64_t{12});
        QCOMPARE(QString::fromStdString(readCheckpointHeader(o.out + "/checkpoint.wsss").train.at("data").get<std::string>()),
                 QString::fromStdString(fs::absolute(moved).string()));
    }

    void nonFiniteLossStopsAndKeepsTheLastCheckpoint()
    {
        // A good run stopped after its checkpoint of step 4, resumed at a learning rate so large that
        // the first update sends the weights past float range: the loss of step 6 is NaN.
        auto o = options("nan");
        QVERIFY(stopAfter(o, 5));
        auto resume = resuming(o.out);
        resume.lr = 1e30;
        try {
            train(resume);
            QFAIL("a non-finite loss must stop the run");
        } catch (const Error &e) {
            const QString message = e.what();
            QVERIFY2(message.contains("not finite at step 6"), e.what());
            QVERIFY2(message.contains("cls"), e.what()); // names the loss term
            QVERIFY2(message.contains("checkpoint of step 4"), e.what());
            QVERIFY2(message.contains("--resume --lr 1e+29 (the run's is 1e+30)"), e.what());
        }
        QCOMPARE(readCheckpointHeader(o.out + "/checkpoint.wsss").step, std::int64_t{4});
        QVERIFY(fs::exists(fs::path(o.out) / "resume-4.state"));

        // As the message advises: the same run, continued at a lower learning rate.
        resume.lr = 1e-3;
        const auto result = train(resume);
        QCOMPARE(result.steps, std::int64_t{12});
        QVERIFY(std::isfinite(result.finalLoss));
        QCOMPARE(readCheckpointHeader(o.out + "/checkpoint.wsss").train.at("lr").get<double>(), 1e-3);
    }
};

QTEST_MAIN(TestResume)
#include "test_resume.moc"
