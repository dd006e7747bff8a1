// The jobs panel over a real engine: a queued load and a long training run are listed with what
// they do and their progress; Cancel on the selected run ends it and empties the list.
#include "ui/docks/jobs_dock.h"
#include "ui/engine/engine_bridge.h"

#include <wsss/source_paths.h>

#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

using wsss::ui::EngineBridge;
using wsss::ui::JobsDock;

namespace {

QString cellText(const JobsDock &dock, int row, int column)
{
    const QTableWidgetItem *item = dock.table()->item(row, column);
    return item ? item->text() : QString();
}

} // namespace

class TestJobsDock : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void listsAndCancelsJobs()
    {
        EngineBridge bridge;
        JobsDock dock(&bridge);
        dock.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dock));
        QCOMPARE(dock.table()->rowCount(), 0);
        QVERIFY(!dock.cancelButton()->isEnabled());

        bridge.loadModel(QStringLiteral(WSSS_SOURCE_RESOURCE_DIR "/demo/cam_vit_demo_patch8.wsss"), QStringLiteral("cpu"));
        wsss::training::TrainOptions options;
        options.method = "cam";
        options.data = WSSS_SOURCE_DIR "/tests/fixtures/tiny_voc";
        options.out = m_dir.filePath(QStringLiteral("run")).toStdString();
        options.weights = "none";
        options.device = "cpu";
        options.iters = 1'000'000; // runs until cancelled
        options.batch = 2;
        options.size = 64;
        options.valSplit = "none";
        const quint64 train = bridge.train(options);

        // Both are listed, in submission order (before the worker's events come back); then the
        // run's progress shows as it trains.
        dock.refresh();
        QCOMPARE(dock.table()->rowCount(), 2);
        QCOMPARE(cellText(dock, 0, JobsDock::KindColumn), QStringLiteral("load"));
        QCOMPARE(cellText(dock, 1, JobsDock::KindColumn), QStringLiteral("train"));
        QTRY_COMPARE_WITH_TIMEOUT(dock.table()->rowCount(), 1, 60000); // the load is done
        QTRY_VERIFY_WITH_TIMEOUT(cellText(dock, 0, JobsDock::ProgressColumn).endsWith(QStringLiteral("/1000000 (0 %)")), 60000);
        QCOMPARE(cellText(dock, 0, JobsDock::StateColumn), QStringLiteral("running"));

        dock.selectJob(train);
        QCOMPARE(dock.selectedJob(), train);
        QVERIFY(dock.cancelButton()->isEnabled());
        QSignalSpy cancelled(&bridge, &EngineBridge::jobCancelled);
        QTest::mouseClick(dock.cancelButton(), Qt::LeftButton);
        QVERIFY(cancelled.wait(60000));
        QCOMPARE(cancelled.front().at(0).toULongLong(), train);
        QTRY_COMPARE(dock.table()->rowCount(), 0);
        QVERIFY(!dock.cancelButton()->isEnabled());
    }
};

QTEST_MAIN(TestJobsDock)
#include "test_jobs_dock.moc"
