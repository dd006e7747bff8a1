// The affinity dock with a real AFA checkpoint in the studio: one map per affinity the method
// has, each the query patch's row of the inspection's matrix, following the query.
#include "support/tiny_demo_run.h"
#include "ui/canvas/canvas_widget.h"
#include "ui/docks/affinity_dock.h"
#include "ui/main_window.h"

#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

using wsss::ui::AffinityDock;
using wsss::ui::MainWindow;

class TestAffinityDock : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::unique_ptr<MainWindow> m_window;

    const wsss::training::Inspection &inspection() const { return *m_window->canvas()->inspection(); }
    AffinityDock *dock() const { return m_window->affinityDock(); }

    // The pixel at the centre of patch (r, c).
    QPointF patchCentre(int r, int c) const
    {
        const auto &ins = inspection();
        return {(c + 0.5) * ins.imageWidth / ins.gridWidth, (r + 0.5) * ins.imageHeight / ins.gridHeight};
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
        QCoreApplication::setOrganizationName(QStringLiteral("WSSS Studio Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("test_affinity_dock"));
        QSettings().clear();

        const auto run = wsss::test::makeTinyDemoRun(m_dir.path().toStdString(), 2, "afa");
        m_window = std::make_unique<MainWindow>();
        m_window->resize(1400, 900);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
        QVERIFY(m_window->openDataset(QString::fromStdString(run.data), QStringLiteral("val")));
        m_window->openCheckpoint(QString::fromStdString(run.trained.checkpointPath), QStringLiteral("cpu"));
        QVERIFY2(shown.wait(60000), qPrintable(m_window->lastError()));
    }

    void cleanupTestCase() { m_window.reset(); }

    void showsEveryAffinityOfTheMethod()
    {
        QCOMPARE(dock()->tileCount(), 2);
        QCOMPARE(dock()->kinds(), (std::vector<std::string>{"afa", "transition"}));
        const int n = inspection().gridWidth * inspection().gridHeight;
        QCOMPARE(inspection().affinity("afa")->tokens, n);
    }

    void rowFollowsTheQuery()
    {
        const auto &ins = inspection();
        m_window->setQueryPixel(patchCentre(1, 2));
        const int patch = 1 * ins.gridWidth + 2;
        QCOMPARE(dock()->row("afa"), ins.affinity("afa")->row(patch));
        QCOMPARE(dock()->row("transition"), ins.affinity("transition")->row(patch));
        const QImage before = dock()->tileImage(0);
        QCOMPARE(before.size(), QSize(ins.gridWidth, ins.gridHeight));

        m_window->setQueryPixel(patchCentre(ins.gridHeight - 1, 0));
        const int other = (ins.gridHeight - 1) * ins.gridWidth;
        QCOMPARE(dock()->row("afa"), ins.affinity("afa")->row(other));
        QVERIFY(dock()->row("afa") != ins.affinity("afa")->row(patch));
        // The learned affinity is symmetric: entry (p, q) of one query's row is entry (q, p) of the other's.
        const auto &a = ins.affinity("afa")->values;
        QCOMPARE(a[static_cast<size_t>(patch) * ins.affinity("afa")->tokens + other],
                 a[static_cast<size_t>(other) * ins.affinity("afa")->tokens + patch]);
    }

    void kindsHaveReadableTitles()
    {
        QCOMPARE(AffinityDock::kindTitle("afa"), QStringLiteral("Learned affinity (AFA)"));
        QCOMPARE(AffinityDock::kindTitle("other"), QStringLiteral("other"));
    }
};

QTEST_MAIN(TestAffinityDock)
#include "test_affinity_dock.moc"
