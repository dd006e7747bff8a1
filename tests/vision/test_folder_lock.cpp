// The claim on an output folder: a second claimant is refused with the holder named, a holder
// that dies (even by SIGKILL) frees the folder, and temporaries of dead writers are cleaned up.
#include "support/dead_pid.h"
#include "vision/core/error.h"
#include "vision/io/atomic_write.h"
#include "vision/io/folder_lock.h"

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

using wsss::vision::FolderLock;
namespace fs = std::filesystem;

namespace {

std::string refusal(const fs::path &folder, const std::string &purpose)
{
    try {
        FolderLock lock(folder, purpose);
    } catch (const wsss::Error &e) {
        return e.what();
    }
    return {};
}

} // namespace

class TestFolderLock : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    fs::path path(const std::string &name) const { return fs::path(m_dir.path().toStdString()) / name; }

private Q_SLOTS:
    void secondClaimIsRefusedWithTheHolder()
    {
        const fs::path out = path("out");
        std::optional<FolderLock> first;
        first.emplace(out, "wsss infer of val with cam");
        QVERIFY(fs::exists(out / FolderLock::kFileName));
        const QString message = QString::fromStdString(refusal(out, "wsss infer of val with afa"));
        QVERIFY2(message.contains("\"" + QString::fromStdString(out.string()) + "\" is in use by another process (pid " +
                                  QString::number(::getpid()) + ", wsss infer of val with cam, since "),
                 qPrintable(message));
        first.reset();
        QVERIFY(!fs::exists(out / FolderLock::kFileName)); // released and removed
        QCOMPARE(QString::fromStdString(refusal(out, "wsss infer of val with afa")), QString());
    }

    void aKilledHolderFreesTheFolder()
    {
        const fs::path out = path("killed");
        int ready[2];
        QCOMPARE(::pipe(ready), 0);
        const pid_t child = ::fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            // The child claims the folder and waits to be killed; nothing of its cleanup runs.
            try {
                new FolderLock(out, "child");
            } catch (...) {
                ::_exit(2);
            }
            const char byte = 1;
            [[maybe_unused]] const auto n = ::write(ready[1], &byte, 1);
            ::pause();
            ::_exit(0);
        }
        char byte = 0;
        QCOMPARE(::read(ready[0], &byte, 1), ssize_t{1});
        ::close(ready[0]);
        ::close(ready[1]);
        const QString held = QString::fromStdString(refusal(out, "parent"));
        QVERIFY2(held.contains("(pid " + QString::number(child) + ", child, since"), qPrintable(held));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        QVERIFY(fs::exists(out / FolderLock::kFileName)); // left behind by the kill …
        QCOMPARE(QString::fromStdString(refusal(out, "parent")), QString()); // … and no obstacle
    }

    void anEmptyFolderItMadeGoesWithIt()
    {
        const fs::path made = fs::path(m_dir.path().toStdString()) / "made" / "run";
        { FolderLock lock(made, "wsss train"); }
        QVERIFY(!fs::exists(made)); // a run that failed before writing leaves nothing
        {
            FolderLock lock(made, "wsss train");
            std::ofstream(made / "checkpoint.wsss") << "x";
        }
        QVERIFY(fs::exists(made / "checkpoint.wsss"));
        { FolderLock lock(made, "wsss train"); } // existed before: kept even if it were empty
        QVERIFY(fs::exists(made));
        fs::remove(made / "checkpoint.wsss");
        { FolderLock lock(made, "wsss train"); }
        QVERIFY(fs::is_directory(made)); // the user's empty folder is theirs
    }

    void readOnlyFolderIsNamed()
    {
        if (::geteuid() == 0)
            QSKIP("root writes into read-only folders; tests/cli/reliability.sh covers a read-only mount");
        const fs::path out = path("readonly");
        fs::create_directories(out);
        fs::permissions(out, fs::perms::owner_read | fs::perms::owner_exec);
        const QString message = QString::fromStdString(refusal(out, "wsss infer"));
        fs::permissions(out, fs::perms::owner_all);
        QVERIFY2(message.contains("cannot write to \"" + QString::fromStdString(out.string()) + "\": Permission denied"),
                 qPrintable(message));
    }

    void staleTemporariesOfDeadWritersGo()
    {
        const fs::path run = path("run");
        fs::create_directories(run / "maps");
        const fs::path dead = run / (".checkpoint.wsss.tmp-" + std::to_string(wsss::test::deadPid()) + "-3-12345");
        const fs::path deadNested = run / "maps" / (".a.npy.tmp-" + std::to_string(wsss::test::deadPid()) + "-0-1");
        const fs::path live = run / (".metrics.tmp-" + std::to_string(::getpid()) + "-0-1");
        const fs::path userFile = run / ".notes.tmp-draft"; // not an AtomicFile name: not ours
        for (const auto &p : {dead, deadNested, live, userFile})
            std::ofstream(p) << "x";
        const auto removed = wsss::vision::removeStaleTemporaries(run);
        QCOMPARE(int(removed.size()), 2);
        QVERIFY(!fs::exists(dead));
        QVERIFY(!fs::exists(deadNested));
        QVERIFY(fs::exists(live));
        QVERIFY(fs::exists(userFile));
    }
};

QTEST_APPLESS_MAIN(TestFolderLock)
#include "test_folder_lock.moc"
