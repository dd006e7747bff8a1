// "Apply to the whole dataset" in the studio with a real checkpoint: the engine writes one palette
// PNG per image of the split under the studio's rule (recorded in manifest.json, as `wsss infer`
// does), reporting progress; Cancel stops it early and the masks already written stay readable.
#include "support/tiny_demo_run.h"
#include "ui/engine/engine_bridge.h"
#include "ui/main_window.h"
#include "vision/io/palette_png.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProgressBar>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>

using wsss::ui::MainWindow;
using wsss::vision::PseudoLabelRule;

namespace {

constexpr int kImages = 40;

QStringList masks(const QString &out)
{
    return QDir(out + QStringLiteral("/SegmentationClass")).entryList({QStringLiteral("*.png")}, QDir::Files, QDir::Name);
}

QJsonObject manifest(const QString &out)
{
    QFile file(out + QStringLiteral("/manifest.json"));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(file.readAll()).object();
}

} // namespace

class TestApplyDataset : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::unique_ptr<MainWindow> m_window;

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
        QCoreApplication::setOrganizationName(QStringLiteral("WSSS Studio Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("test_apply_dataset"));
        QSettings().clear();

        const auto run = wsss::test::makeTinyDemoRun(m_dir.path().toStdString(), kImages);
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

    void writesOneMaskPerImage()
    {
        wsss::vision::PseudoLabelRule rule;
        rule.background = wsss::vision::BackgroundRule::Band;
        rule.bandLow = 0.3f;
        rule.bandHigh = 0.6f;
        m_window->setRule(rule);
        const QString out = m_dir.filePath(QStringLiteral("all"));
        QSignalSpy ended(m_window.get(), &MainWindow::applyEnded);
        QSignalSpy progress(m_window->bridge(), &wsss::ui::EngineBridge::jobProgress);
        const quint64 job = m_window->applyRuleToDataset(out);
        QVERIFY(job != 0);
        QVERIFY(m_window->isApplying());
        QVERIFY(m_window->findChild<QToolButton *>(QStringLiteral("cancelJobButton"))->isVisible());
        QVERIFY(m_window->applyRuleToDataset(out) == 0); // one at a time
        QVERIFY2(ended.wait(120000), qPrintable(m_window->lastError()));
        QCOMPARE(ended.front().at(0).toULongLong(), job);
        QVERIFY2(ended.front().at(1).toBool(), qPrintable(m_window->lastError()));
        QCOMPARE(ended.front().at(2).toLongLong(), qint64(kImages));
        QVERIFY(!m_window->isApplying());
        QVERIFY(progress.count() >= kImages);
        QCOMPARE(progress.back().at(1).toLongLong(), qint64(kImages));

        const QStringList written = masks(out);
        QCOMPARE(written.size(), kImages);
        const cv::Mat first = wsss::vision::readLabelPng((out + QStringLiteral("/SegmentationClass/") + written.front()).toStdString());
        QCOMPARE(first.rows, 64);
        const QJsonObject m = manifest(out);
        QCOMPARE(m.value(QStringLiteral("images")).toInt(), kImages);
        QVERIFY(m.value(QStringLiteral("complete")).toBool());
        const QJsonObject r = m.value(QStringLiteral("rule")).toObject();
        QCOMPARE(r.value(QStringLiteral("background")).toString(), QStringLiteral("band"));
        QCOMPARE(r.value(QStringLiteral("band_low")).toDouble(), 0.3); // as the user set it, not the float 0.300000011921
        QVERIFY(QFile::exists(out + QStringLiteral("/ImageSets/Segmentation/val.txt")));
        QVERIFY(m_window->statusBar()->currentMessage().contains(QStringLiteral("Wrote %1 of %1").arg(kImages)));
    }

    void cancelKeepsWhatWasWritten()
    {
        wsss::vision::PseudoLabelRule rule;
        rule.parIterations = 50; // a slower image, so Cancel lands mid-split
        m_window->setRule(rule);
        const QString out = m_dir.filePath(QStringLiteral("cancelled"));
        QSignalSpy ended(m_window.get(), &MainWindow::applyEnded);
        const quint64 job = m_window->applyRuleToDataset(out);
        QVERIFY(job != 0);
        // Cancel as the first image is reported, with the status bar's button.
        auto *cancel = m_window->findChild<QToolButton *>(QStringLiteral("cancelJobButton"));
        QMetaObject::Connection once;
        once = connect(m_window->bridge(), &wsss::ui::EngineBridge::jobProgress, this,
                       [&](quint64 id, qint64 done, qint64, const QString &) {
                           if (id == job && done >= 1) {
                               disconnect(once);
                               cancel->click();
                           }
                       });
        QVERIFY2(ended.wait(120000), qPrintable(m_window->lastError()));
        QVERIFY(!ended.front().at(1).toBool());
        const qint64 kept = ended.front().at(2).toLongLong();
        qInfo("cancelled with %lld of %d masks written", static_cast<long long>(kept), kImages);
        QVERIFY(kept >= 1);
        QVERIFY2(kept < kImages, "Cancel must stop the job before the end of the split");
        const QStringList written = masks(out);
        QCOMPARE(written.size(), static_cast<int>(kept));
        for (const QString &name : written) // whole files: written atomically
            QCOMPARE(wsss::vision::readLabelPng((out + QStringLiteral("/SegmentationClass/") + name).toStdString()).rows, 64);
        const QJsonObject m = manifest(out);
        QVERIFY(!m.value(QStringLiteral("complete")).toBool(true));
        QCOMPARE(m.value(QStringLiteral("images")).toInt(), static_cast<int>(kept));
        QVERIFY(m_window->statusBar()->currentMessage().contains(QStringLiteral("kept")));
        QVERIFY(!cancel->isVisible());
    }
};

QTEST_MAIN(TestApplyDataset)
#include "test_apply_dataset.moc"
