// The runs panel over a folder of run folders the test makes: the demo checkpoint as each run's
// checkpoint.wsss beside a metrics.jsonl written here.
#include "ui/docks/runs_dock.h"
#include "ui/plot/qcustomplot_wrapper.h"

#include <wsss/source_paths.h>

#include <QDir>
#include <QFile>
#include <QLabel>
#include <QListWidget>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

using wsss::ui::RunsDock;
namespace tr_ = wsss::training;

namespace {

const QString kDemoCheckpoint = QStringLiteral(WSSS_SOURCE_RESOURCE_DIR "/demo/cam_vit_demo_patch8.wsss");

// `steps` metrics lines every 10 steps, and a validation line per entry of `val` (step, mIoU).
QByteArray metrics(int steps, const std::vector<std::pair<int, double>> &val = {})
{
    QByteArray text;
    for (int step = 10; step <= 10 * steps; step += 10)
        text += QStringLiteral(R"({"step":%1,"lr":0.001,"loss":{"total":%2,"cls":%3}})")
                    .arg(step)
                    .arg(5.0 / step)
                    .arg(4.0 / step)
                    .toUtf8()
                + '\n';
    for (const auto &[step, miou] : val)
        text += QStringLiteral(R"({"step":%1,"val":{"val_miou":%2}})").arg(step).arg(miou).toUtf8() + '\n';
    return text;
}

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(bytes) == bytes.size();
}

QString cellText(const RunsDock &dock, int row, int column)
{
    const QTableWidgetItem *item = dock.table()->item(row, column);
    return item ? item->text() : QString();
}

} // namespace

class TestRunsDock : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_runs, m_a, m_b;

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
        QCoreApplication::setOrganizationName(QStringLiteral("WSSS Studio Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("test_runs_dock"));
        QSettings().clear();

        m_runs = m_dir.filePath(QStringLiteral("runs"));
        m_a = m_runs + QStringLiteral("/run-a");
        m_b = m_runs + QStringLiteral("/run-b");
        for (const QString &run : {m_a, m_b}) {
            QVERIFY(QDir().mkpath(run));
            QVERIFY(QFile::copy(kDemoCheckpoint, run + QStringLiteral("/checkpoint.wsss")));
        }
        QVERIFY(writeFile(m_a + QStringLiteral("/metrics.jsonl"), metrics(5)));
        QVERIFY(writeFile(m_b + QStringLiteral("/metrics.jsonl"), metrics(3, {{20, 0.5}, {30, 0.625}})));
        QVERIFY(QDir().mkpath(m_runs + QStringLiteral("/not-a-run"))); // no checkpoint, no metrics
    }

    void listsTheRunsWithTheirFields()
    {
        RunsDock dock;
        dock.setFolder(m_runs);
        QCOMPARE(dock.runCount(), 2);
        QCOMPARE(dock.table()->rowCount(), 2);
        QCOMPARE(cellText(dock, 0, RunsDock::NameColumn), QStringLiteral("run-a"));
        QCOMPARE(cellText(dock, 1, RunsDock::NameColumn), QStringLiteral("run-b"));
        for (int row = 0; row < 2; ++row) {
            // What the demo checkpoint's header says: a finished 400-step cam run.
            QCOMPARE(cellText(dock, row, RunsDock::MethodColumn), QStringLiteral("cam"));
            QCOMPARE(cellText(dock, row, RunsDock::BackboneColumn), QStringLiteral("vit_demo_patch8"));
            QCOMPARE(cellText(dock, row, RunsDock::StepsColumn), QStringLiteral("400/400"));
            QCOMPARE(cellText(dock, row, RunsDock::StateColumn), QStringLiteral("finished"));
        }
        // The best of the checkpoint's (its val_miou, 26.3 %: scored on train_sweep) and the metrics' validations.
        QCOMPARE(cellText(dock, 0, RunsDock::BestColumn), QStringLiteral("26.3 %"));
        QCOMPARE(cellText(dock, 1, RunsDock::BestColumn), QStringLiteral("62.5 %"));
        QCOMPARE(QSettings().value(QStringLiteral("runs/folder")).toString(), QDir::cleanPath(m_runs));
    }

    void selectingRunsOverlaysTheirCurves()
    {
        RunsDock dock;
        dock.setFolder(m_runs);
        QCOMPARE(dock.overlaidLossCurves(), 0);
        dock.table()->selectAll();
        QCOMPARE(dock.selectedRunDirs().size(), 2);
        QCOMPARE(dock.overlaidLossCurves(), 2);
        QCOMPARE(dock.overlaidValidationCurves(), 1); // run-b only was validated
        // One graph per run, named after it, each in its own colour, with that run's points.
        QCustomPlot *plot = dock.plot();
        QCOMPARE(plot->graph(0)->name(), QStringLiteral("run-a"));
        QCOMPARE(plot->graph(0)->dataCount(), 5);
        QCOMPARE(plot->graph(1)->name(), QStringLiteral("run-b"));
        QCOMPARE(plot->graph(1)->dataCount(), 3);
        QCOMPARE(plot->graph(2)->dataCount(), 2);
        QCOMPARE(plot->graph(2)->data()->at(1)->value, 62.5);
        QVERIFY(plot->graph(0)->pen().color() != plot->graph(1)->pen().color());
        QVERIFY(plot->legend->visible());
        QCOMPARE(plot->legend->itemCount(), 2); // by run; the validation dots share their run's colour

        // A refresh keeps the selection and the curves.
        dock.refresh();
        QCOMPARE(dock.selectedRunDirs(), (QStringList{QDir::cleanPath(m_a), QDir::cleanPath(m_b)}));
        QCOMPARE(dock.overlaidLossCurves(), 2);

        // Metrics written meanwhile appear on the next refresh.
        QFile file(m_a + QStringLiteral("/metrics.jsonl"));
        QVERIFY(file.open(QIODevice::Append));
        file.write(R"({"step":60,"lr":0.001,"loss":{"total":0.05,"cls":0.04}})" "\n");
        file.close();
        dock.refresh();
        QCOMPARE(plot->graph(0)->dataCount(), 6);

        dock.selectRuns({QDir::cleanPath(m_b)});
        QCOMPARE(dock.overlaidLossCurves(), 1);
        QCOMPARE(plot->graph(0)->name(), QStringLiteral("run-b"));
    }

    void newRunsAppearWhileShown()
    {
        RunsDock dock;
        dock.setFolder(m_runs);
        dock.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dock));
        dock.selectRuns({QDir::cleanPath(m_b)});
        const QString c = m_runs + QStringLiteral("/run-c");
        QVERIFY(QDir().mkpath(c));
        QVERIFY(writeFile(c + QStringLiteral("/metrics.jsonl"), metrics(2)));
        QTRY_COMPARE_WITH_TIMEOUT(dock.runCount(), 3, 3 * RunsDock::kRefreshMs);
        QCOMPARE(cellText(dock, 2, RunsDock::NameColumn), QStringLiteral("run-c"));
        QCOMPARE(cellText(dock, 2, RunsDock::StateColumn), QStringLiteral("empty"));
        QCOMPARE(dock.selectedRunDirs(), QStringList{QDir::cleanPath(m_b)}); // kept by the timer's refresh
        QVERIFY(QDir(c).removeRecursively());
    }

    void openingCheckpoints()
    {
        RunsDock dock;
        dock.resize(900, 600);
        dock.setFolder(m_runs);
        dock.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dock));
        QSignalSpy open(&dock, &RunsDock::openCheckpointRequested);

        // Double-clicking a run opens its latest checkpoint.
        QTableWidget *table = dock.table();
        const QRect cell = table->visualItemRect(table->item(1, RunsDock::MethodColumn));
        QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, cell.center());
        QTest::mouseDClick(table->viewport(), Qt::LeftButton, {}, cell.center());
        QCOMPARE(open.count(), 1);
        QCOMPARE(QDir::cleanPath(open.takeFirst().at(0).toString()), QDir::cleanPath(m_b + QStringLiteral("/checkpoint.wsss")));

        // The current run's checkpoints are listed; one of them opens from the list.
        QCOMPARE(dock.checkpointPaths().size(), 1);
        QCOMPARE(QDir::cleanPath(dock.checkpointPaths().front()), QDir::cleanPath(m_b + QStringLiteral("/checkpoint.wsss")));
        QListWidget *list = dock.checkpointList();
        const QRect item = list->visualItemRect(list->item(0));
        QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, item.center());
        QTest::mouseDClick(list->viewport(), Qt::LeftButton, {}, item.center());
        QCOMPARE(open.count(), 1);
        QCOMPARE(QDir::cleanPath(open.takeFirst().at(0).toString()), QDir::cleanPath(m_b + QStringLiteral("/checkpoint.wsss")));
    }

    void aFolderWithoutRunsSaysSo()
    {
        RunsDock dock;
        dock.setFolder(m_runs + QStringLiteral("/not-a-run"));
        QCOMPARE(dock.runCount(), 0);
        QCOMPARE(dock.table()->rowCount(), 0);
        QVERIFY(!dock.findChild<QLabel *>(QStringLiteral("runsMessage"))->text().isEmpty());
    }
};

QTEST_MAIN(TestRunsDock)
#include "test_runs_dock.moc"
