// LibTorch's threads follow the machine's load (vision/core/thread_budget.h): one thread while
// other programs keep every core busy, all of them again when they stop, none lost to background
// jobs niced below us (where their nice weighs: not from another session's autogroup), and a
// count fixed with WSSS_THREADS left alone.
#include "vision/core/thread_budget.h"

#include <ATen/Parallel.h>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace wsss::vision;

namespace {

int cores()
{
    return static_cast<int>(std::thread::hardware_concurrency());
}

// Where the other programs run: in this test's session, or each in a session of its own (another
// terminal's), whose autogroup is niced as a whole when groupNice is given.
struct Where {
    bool ownSession = false;
    int groupNice = 0;
};

// One busy shell loop per core, in other processes (niced by `nice` when given), until destroyed.
class BusyCores {
public:
    explicit BusyCores(int nice = 0, Where where = {})
    {
        for (int i = 0; i < cores(); ++i) {
            auto p = std::make_unique<QProcess>();
            const QString loop = QString("exec nice -n %1 sh -c 'while :; do :; done'").arg(nice);
            QString script = loop;
            if (where.ownSession) {
                // A new session is a new autogroup; raising its nice needs no privilege.
                p->setChildProcessModifier([] { ::setsid(); });
                if (where.groupNice)
                    script = QString("echo %1 > /proc/self/autogroup && ").arg(where.groupNice) + loop;
            }
            p->start("sh", QStringList{"-c", script});
            p->waitForStarted();
            m_processes.push_back(std::move(p));
        }
        QTest::qWait(300); // running, not starting
        for (const auto &p : m_processes)
            if (p->state() != QProcess::Running)
                m_failed = QString::fromLocal8Bit(p->readAllStandardError());
    }
    // Why a loop did not start (e.g. the autogroup could not be niced), else empty.
    QString failed() const { return m_failed; }
    ~BusyCores()
    {
        for (auto &p : m_processes) {
            p->kill();
            p->waitForFinished();
        }
    }

private:
    std::vector<std::unique_ptr<QProcess>> m_processes;
    QString m_failed;
};

bool autogroupsOn()
{
    QFile flag("/proc/sys/kernel/sched_autogroup_enabled");
    return flag.open(QIODevice::ReadOnly) && flag.readAll().trimmed() == "1";
}

// The checks that the count comes back, or that niced jobs leave it alone, need cores nobody else
// uses: with another program busy (a build, a benchmark) they would measure that program.
bool othersKeepACoreBusy()
{
    int fewest = othersRunning();
    for (int i = 0; i < 5 && fewest > 0; ++i) {
        QTest::qWait(60);
        fewest = std::min(fewest, othersRunning());
    }
    return fewest > 0;
}

} // namespace

class TestThreadBudget : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        if (othersRunning() < 0)
            QSKIP("no /proc here: the budget keeps the threads it was given");
        qunsetenv("WSSS_THREADS");
    }

    // PAR, the CRF and the pseudo-label rule split their pixels with at::parallel_for, which is
    // serial unless the core is compiled with OpenMP: a build that drops it halves their speed.
    void theCoresParallelLoopsUseLibTorchsThreads()
    {
        if (cores() < 2)
            QSKIP("one core: nothing to split");
        at::set_num_threads(2);
        QCOMPARE(parallelLoopThreads(), 2);
        at::set_num_threads(1);
        QCOMPARE(parallelLoopThreads(), 1);
    }

    void busyCoresLeaveOneThreadAndTheCountComesBack()
    {
        if (othersKeepACoreBusy())
            QSKIP("other programs keep a core busy: the count could not come back to 2");
        at::set_num_threads(2);
        {
            ThreadBudget budget(2);
            QVERIFY(budget.adapts());
            {
                BusyCores busy;
                QVERIFY2(othersRunning() >= cores(), qPrintable(QString::number(othersRunning())));
                QCOMPARE(budget.adapt(), 1);
                QCOMPARE(at::get_num_threads(), 1);
            }
            QTRY_COMPARE_WITH_TIMEOUT(budget.adapt(), 2, 3000); // looks 100 ms apart
        }
        QCOMPARE(at::get_num_threads(), 2); // what the program was given, when the budget ends
    }

    void backgroundJobsNicedBelowUsDoNotCount()
    {
        if (othersKeepACoreBusy())
            QSKIP("other programs keep a core busy: they would be counted, not the niced jobs");
        BusyCores niced(19);
        QVERIFY2(othersRunning() < cores(), qPrintable(QString::number(othersRunning())));
    }

    // Where the scheduler groups each session (autogroups), a nice weighs only inside its group:
    // `nice wsss train` in another terminal is that group's one job and takes its half of the
    // machine, so it competes with us.
    void aNicedJobInAnotherSessionCounts()
    {
        if (!autogroupsOn())
            QSKIP("autogroups are off here: nice weighs across sessions");
        if (othersKeepACoreBusy())
            QSKIP("other programs keep a core busy: they would be counted, not the session's jobs");
        BusyCores elsewhere(19, Where{true, 0});
        QVERIFY2(elsewhere.failed().isEmpty(), qPrintable(elsewhere.failed()));
        QVERIFY2(othersRunning() >= cores(), qPrintable(QString::number(othersRunning())));
    }

    // The rule across the scheduler's groups, for the places a program starts from: a terminal's
    // autogroup, or the root group where a service or a CI runner started by init stays (its
    // /proc/PID/autogroup is empty), beside a job in another session's group or in the root group.
    void aNiceWeighsAsItsGroupDoes_data()
    {
        QTest::addColumn<QString>("ours");
        QTest::addColumn<int>("oursNice");
        QTest::addColumn<QString>("theirs");
        QTest::addColumn<int>("theirsNice");
        QTest::addColumn<int>("threadNice");
        QTest::addColumn<bool>("leaves");
        QTest::newRow("same autogroup, nice 19") << "/autogroup-3" << 0 << "/autogroup-3" << 0 << 19 << true;
        QTest::newRow("same autogroup, nice 5") << "/autogroup-3" << 0 << "/autogroup-3" << 0 << 5 << false;
        QTest::newRow("another terminal, nice 19") << "/autogroup-3" << 0 << "/autogroup-4" << 0 << 19 << false;
        QTest::newRow("another terminal niced whole") << "/autogroup-3" << 0 << "/autogroup-4" << 19 << 0 << true;
        QTest::newRow("we in root, terminal's nice 19") << "" << 0 << "/autogroup-4" << 0 << 19 << false;
        QTest::newRow("we in root, terminal niced whole") << "" << 0 << "/autogroup-4" << 19 << 19 << true;
        QTest::newRow("both in root, nice 19") << "" << 0 << "" << 0 << 19 << true;
        QTest::newRow("root job nice 19 beside our terminal") << "/autogroup-3" << 0 << "" << 0 << 19 << true;
        QTest::newRow("root job beside our niced terminal") << "/autogroup-3" << 19 << "" << 0 << 19 << false;
        QTest::newRow("another cpu cgroup, nice 19") << "cgroup /a" << 0 << "cgroup /b" << 0 << 19 << false;
    }

    void aNiceWeighsAsItsGroupDoes()
    {
        QFETCH(QString, ours);
        QFETCH(int, oursNice);
        QFETCH(QString, theirs);
        QFETCH(int, theirsNice);
        QFETCH(int, threadNice);
        QFETCH(bool, leaves);
        // Our thread at nice 0; a group's nice only where it is an autogroup.
        QCOMPARE(leavesTheCore(SchedGroup{ours.toStdString(), oursNice}, 0,
                               SchedGroup{theirs.toStdString(), theirsNice}, threadNice),
                 leaves);
    }

    // What /proc says of a process's group, as the kernel writes it: an empty autogroup file is the
    // root group (a process init started, a CI runner), not an unknown one.
    void theGroupIsReadAsTheKernelWritesIt()
    {
        if (!autogroupsOn())
            QSKIP("autogroups are off here: every process not in a cpu cgroup shares the root group");
        QTemporaryDir dir;
        auto process = [&](const QString &name, const QByteArray &cgroup, const QByteArray &autogroup) {
            QDir(dir.path()).mkdir(name);
            QFile c(dir.filePath(name + "/cgroup")), a(dir.filePath(name + "/autogroup"));
            c.open(QIODevice::WriteOnly);
            c.write(cgroup);
            a.open(QIODevice::WriteOnly);
            a.write(autogroup);
            c.close();
            a.close();
            return schedGroupOf(dir.filePath(name).toStdString());
        };
        const auto root = process("root", "1:cpu:/\n0::/\n", "");
        QVERIFY(root && root->name.empty());
        const auto terminal = process("terminal", "2:cpu,cpuacct:/\n", "/autogroup-38 nice 19\n");
        QVERIFY(terminal && terminal->name == "/autogroup-38" && terminal->nice == 19);
        const auto batch = process("batch", "3:cpuacct,cpu:/batch\n", "/autogroup-38 nice 19\n");
        QVERIFY(batch && batch->name == "cgroup /batch" && batch->nice == 0);
        QVERIFY(!schedGroupOf(dir.filePath("gone").toStdString()));
    }

    // A new session is a group of its own where autogroups are on (and the cpu cgroup is shared).
    void aNewSessionIsAnotherGroup()
    {
        const auto ours = schedGroupOf("/proc/self");
        QVERIFY(ours.has_value());
        QProcess child;
        child.setChildProcessModifier([] { ::setsid(); });
        child.start("sleep", QStringList{"5"});
        QVERIFY(child.waitForStarted());
        const auto theirs = schedGroupOf(QString("/proc/%1").arg(child.processId()).toStdString());
        child.kill();
        child.waitForFinished();
        QVERIFY(theirs.has_value());
        if (!autogroupsOn() || ours->name.rfind("cgroup ", 0) == 0)
            QCOMPARE(theirs->name, ours->name);
        else
            QVERIFY2(theirs->name != ours->name, ours->name.c_str());
    }

    void aSessionNicedAsAWholeDoesNotCount()
    {
        if (!autogroupsOn())
            QSKIP("autogroups are off here");
        if (othersKeepACoreBusy())
            QSKIP("other programs keep a core busy: they would be counted, not the niced session");
        BusyCores background(19, Where{true, 19});
        if (!background.failed().isEmpty())
            QSKIP(qPrintable("the session's autogroup could not be niced: " + background.failed()));
        QVERIFY2(othersRunning() < cores(), qPrintable(QString::number(othersRunning())));
    }

    void aCountTheUserFixedStays()
    {
        qputenv("WSSS_THREADS", "2");
        at::set_num_threads(2);
        {
            ThreadBudget budget(2);
            QVERIFY(!budget.adapts());
            BusyCores busy;
            QCOMPARE(budget.adapt(), 2);
            QCOMPARE(at::get_num_threads(), 2);
        }
        qunsetenv("WSSS_THREADS");
    }
};

QTEST_GUILESS_MAIN(TestThreadBudget)
#include "test_thread_budget.moc"
