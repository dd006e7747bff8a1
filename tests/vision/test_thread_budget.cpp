// LibTorch's threads follow the machine's load (vision/core/thread_budget.h): one thread while
// other programs keep every core busy, all of them again when they stop, none lost to background
// jobs niced below us (where their nice weighs: not from another session's autogroup), and a
// count fixed with WSSS_THREADS left alone.
#include "vision/core/thread_budget.h"

#include <ATen/Parallel.h>
#include <QFile>
#include <QProcess>
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
