// Correcting pseudo-masks in the studio as a user does, on a real checkpoint: the edit tools change
// the image's mask through the canvas (brush, fill, polygon, accept region, affinity fill), each
// gesture one undo step; review verdicts move through the images; the project (review states,
// corrected masks) is saved and reads back; a project whose dataset moved asks for it; and the
// studio's export writes the same bytes as `wsss export` of the same project.
#include "support/tiny_demo_run.h"
#include "training/project/studio_project.h"
#include "ui/canvas/abstract_tool.h"
#include "ui/canvas/canvas_widget.h"
#include "ui/canvas/tool_manager.h"
#include "ui/canvas/tools/affinity_fill_tool.h"
#include "ui/correction/correction_controller.h"
#include "ui/docks/dataset_dock.h"
#include "ui/engine/engine_bridge.h"
#include "ui/main_window.h"
#include "ui/project/mask_document.h"
#include "ui/project/project_document.h"
#include "vision/io/palette_png.h"

#include <QAction>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QUndoGroup>
#include <QUndoStack>
#include <QtTest>

#include <filesystem>

using wsss::training::ReviewState;
using wsss::ui::MainWindow;

namespace {

constexpr int kImages = 4;

QByteArray fileBytes(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

} // namespace

class TestCorrection : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    wsss::test::TinyDemoRun m_run;
    std::unique_ptr<MainWindow> m_window;
    QString m_projectPath;
    QString m_firstImage;

    wsss::ui::CanvasWidget *canvas() const { return m_window->canvas(); }
    wsss::ui::CorrectionController *correction() const { return m_window->correction(); }
    wsss::ui::ProjectDocument *project() const { return correction()->project(); }

    QPoint at(double x, double y) const { return canvas()->imageToWidget(QPointF(x + 0.5, y + 0.5)).toPoint(); }
    void useTool(const QString &key)
    {
        wsss::ui::AbstractTool *tool = correction()->tools()->tool(key);
        QVERIFY(tool);
        tool->action()->trigger();
        QCOMPARE(correction()->tools()->current(), tool);
    }
    const wsss::ui::LabelImage &mask() const { return canvas()->maskDocument()->mask(); }
    bool showImage(const QString &id)
    {
        QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
        return m_window->selectImage(id) && (m_window->currentImageId() == id && canvas()->inspection() &&
                                                     QString::fromStdString(canvas()->inspection()->imageId) == id
                                                 ? true
                                                 : shown.wait(60000));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
        QCoreApplication::setOrganizationName(QStringLiteral("WSSS Studio Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("test_correction"));
        QSettings().clear();
        m_run = wsss::test::makeTinyDemoRun(m_dir.path().toStdString(), kImages);
        m_window = std::make_unique<MainWindow>();
        m_window->resize(1400, 900);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
        QVERIFY(m_window->openDataset(QString::fromStdString(m_run.data), QStringLiteral("val")));
        m_window->openCheckpoint(QString::fromStdString(m_run.trained.checkpointPath), QStringLiteral("cpu"));
        QVERIFY2(shown.wait(60000), qPrintable(m_window->lastError()));
        project()->setAutosaveInterval(50);
    }

    void cleanupTestCase() { m_window.reset(); }

    void editingNeedsAProject()
    {
        useTool(QStringLiteral("brush"));
        QTest::mouseClick(canvas(), Qt::LeftButton, {}, at(10, 10));
        QVERIFY(!canvas()->maskDocument());
        QVERIFY2(m_window->lastError().contains(QStringLiteral("project")), qPrintable(m_window->lastError()));
        const auto &names = m_window->correction()->tools()->tools();
        QCOMPARE(int(names.size()), 7);
    }

    void newProjectKeepsCorrectionsBesideIt()
    {
        m_projectPath = m_dir.filePath(QStringLiteral("work/demo.wsssproj"));
        QString error;
        QVERIFY2(correction()->newProject(m_projectPath, QString::fromStdString(m_run.data), QStringLiteral("val"),
                                          QString::fromStdString(m_run.trained.checkpointPath), m_window->rule(), &error),
                 qPrintable(error));
        QVERIFY(QFile::exists(m_projectPath));
        QCOMPARE(QString::fromStdString(project()->project().masks.string()), m_dir.filePath(QStringLiteral("work/demo.masks")));
    }

    void brushStrokeIsOneUndoStep()
    {
        useTool(QStringLiteral("brush"));
        QVERIFY(canvas()->showMask());
        correction()->setLabel(2);
        correction()->tools()->setBrushDiameter(3);
        const std::vector<std::uint8_t> pseudo = canvas()->maskLabels();
        QTest::mousePress(canvas(), Qt::LeftButton, {}, at(10, 20));
        for (int x = 11; x <= 40; ++x)
            QTest::mouseMove(canvas(), at(x, 20));
        QTest::mouseRelease(canvas(), Qt::LeftButton, {}, at(40, 20));
        QVERIFY(canvas()->maskDocument());
        for (int x = 10; x <= 40; ++x)
            for (int y = 19; y <= 21; ++y)
                QCOMPARE(int(mask().at(x, y)), 2);
        QCOMPARE(int(mask().at(10, 23)), int(pseudo[23 * mask().width + 10])); // outside the 3-px brush
        QUndoStack *stack = project()->undoGroup()->activeStack();
        QVERIFY(stack);
        QCOMPARE(stack->count(), 1);
        QCOMPARE(project()->review(m_window->currentImageId()), ReviewState::Corrected);

        correction()->undoAction()->trigger(); // back to the pseudo-mask, shown live again
        QVERIFY(!canvas()->maskDocument());
        QCOMPARE(project()->review(m_window->currentImageId()), ReviewState::Unreviewed);
        correction()->redoAction()->trigger();
        QVERIFY(canvas()->maskDocument());
        QCOMPARE(int(mask().at(25, 20)), 2);
    }

    void fillPolygonAndIgnore()
    {
        useTool(QStringLiteral("polygon"));
        correction()->setLabel(255); // "set to ignore"
        QTest::mouseClick(canvas(), Qt::LeftButton, {}, at(2, 40));
        QTest::mouseClick(canvas(), Qt::LeftButton, {}, at(12, 40));
        QTest::mouseClick(canvas(), Qt::LeftButton, {}, at(12, 50));
        QTest::mouseClick(canvas(), Qt::LeftButton, {}, at(2, 50));
        QTest::keyClick(canvas(), Qt::Key_Return);
        QCOMPARE(int(mask().at(7, 45)), 255);
        QCOMPARE(int(mask().at(7, 55)) == 255, false);

        useTool(QStringLiteral("fill"));
        correction()->setLabel(3);
        QTest::mouseClick(canvas(), Qt::LeftButton, {}, at(7, 45)); // the ignored square → class 3
        QCOMPARE(int(mask().at(7, 45)), 3);
        QCOMPARE(int(mask().at(3, 41)), 3);
        QCOMPARE(project()->undoGroup()->activeStack()->count(), 3);
    }

    void acceptRegionCopiesThePseudoMask()
    {
        const auto pseudo = canvas()->maskLabels();
        const int w = mask().width;
        int sx = -1, sy = -1;
        for (int i = 0; i < int(pseudo.size()) && sx < 0; ++i)
            if (pseudo[size_t(i)] != 0 && pseudo[size_t(i)] != 255 && i / w > 28) // below the brush stroke
                sx = i % w, sy = i / w;
        if (sx < 0)
            QSKIP("the tiny model's pseudo-mask of this image has no class below row 28");
        useTool(QStringLiteral("eraser"));
        correction()->tools()->setBrushDiameter(1);
        QTest::mouseClick(canvas(), Qt::LeftButton, {}, at(sx, sy));
        QCOMPARE(int(mask().at(sx, sy)), 0);
        useTool(QStringLiteral("acceptRegion"));
        QTest::mouseClick(canvas(), Qt::LeftButton, {}, at(sx, sy));
        QCOMPARE(mask().at(sx, sy), pseudo[size_t(sy) * w + sx]);
    }

    void affinityFillPreviewsThenFills()
    {
        useTool(QStringLiteral("affinityFill"));
        correction()->setLabel(1);
        correction()->tools()->setAffinityThreshold(0.0f); // every patch joins at threshold 0
        auto *tool = qobject_cast<wsss::ui::AffinityFillTool *>(correction()->tools()->current());
        QVERIFY(tool);
        QTest::mouseClick(canvas(), Qt::LeftButton, {}, at(20, 20));
        QVERIFY(tool->previewPatch() >= 0);
        QVERIFY(!tool->preview().isEmpty());
        const auto before = mask();
        QCOMPARE(before, mask()); // a preview changes nothing yet
        correction()->tools()->setAffinityThreshold(1.0f); // only the strongest link(s)
        QVERIFY(!tool->preview().isEmpty());
        const int count = project()->undoGroup()->activeStack()->count();
        QTest::mouseClick(canvas(), Qt::LeftButton, {}, at(20, 20)); // same patch: fill
        QCOMPARE(project()->undoGroup()->activeStack()->count(), count + 1);
        QVERIFY(mask() != before);
        QCOMPARE(int(mask().at(20, 20)), 1);
    }

    void affinityFillSnapsOnTheWorker()
    {
        useTool(QStringLiteral("affinityFill"));
        auto *tools = correction()->tools();
        auto *tool = qobject_cast<wsss::ui::AffinityFillTool *>(tools->current());
        tools->setAffinityThreshold(0.5f);
        for (auto snap : {wsss::ui::ToolManager::Snap::Par, wsss::ui::ToolManager::Snap::Crf}) {
            QTest::keyClick(canvas(), Qt::Key_Escape); // drop the last preview: the click below starts anew
            tools->setSnap(snap);
            QSignalSpy failed(m_window->bridge(), &wsss::ui::EngineBridge::jobFailed);
            QSignalSpy refined(m_window->bridge(), &wsss::ui::EngineBridge::refinementReady);
            QTest::mouseClick(canvas(), Qt::LeftButton, {}, at(50, 50));
            QVERIFY(tool->snapPending());
            QTRY_VERIFY_WITH_TIMEOUT(!tool->snapPending() || !failed.isEmpty() || !refined.isEmpty(), 60000);
            QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.front().at(1).toString()));
            QVERIFY(!refined.isEmpty());
            QTRY_VERIFY_WITH_TIMEOUT(!tool->snapPending(), 5000);
            QVERIFY(!tool->preview().isEmpty());
            const auto grid = wsss::ui::affinityRegion(*canvas()->inspection(), tool->previewPatch(), 0.5f);
            QVERIFY(!grid.isEmpty());
        }
        const auto region = tool->preview();
        const int count = project()->undoGroup()->activeStack()->count();
        QTest::keyClick(canvas(), Qt::Key_Return);
        QCOMPARE(project()->undoGroup()->activeStack()->count(), count + 1);
        for (int y = region.bounds.top(); y <= region.bounds.bottom(); ++y)
            for (int x = region.bounds.left(); x <= region.bounds.right(); ++x)
                if (region.contains(x, y))
                    QCOMPARE(int(mask().at(x, y)), int(tools->label()));
        tools->setSnap(wsss::ui::ToolManager::Snap::None);
        correction()->undoAction()->trigger(); // the checks below see the earlier edits only
    }

    void acceptAndNextWalksTheImages()
    {
        const QString first = m_window->currentImageId();
        m_firstImage = first;
        QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
        correction()->acceptAndNextAction()->trigger();
        QCOMPARE(project()->review(first), ReviewState::Accepted);
        QVERIFY(shown.wait(60000));
        QVERIFY(m_window->currentImageId() != first);
        correction()->setCurrentReview(ReviewState::Rejected);
        QVERIFY(project()->save());

        const auto saved = wsss::training::readStudioProject(m_projectPath.toStdString());
        QCOMPARE(saved.review(first.toStdString()), ReviewState::Accepted);
        QCOMPARE(saved.review(m_window->currentImageId().toStdString()), ReviewState::Rejected);
        QVERIFY(!std::filesystem::exists(saved.correctedMaskPath(m_window->currentImageId().toStdString())));
        // The first image was corrected before it was accepted: its mask file holds the edits.
        const cv::Mat file = wsss::vision::readLabelPng(saved.correctedMaskPath(first.toStdString()).string());
        QCOMPARE(int(file.at<std::uint8_t>(20, 20)), 1); // affinity fill over the brush stroke
        QCOMPARE(int(file.at<std::uint8_t>(20, 35)), 2); // the stroke, in another patch
        QCOMPARE(int(file.at<std::uint8_t>(45, 7)), 3);  // row 45, column 7: the filled polygon
    }

    void reopeningShowsTheCorrection()
    {
        QVERIFY(showImage(m_firstImage));
        QVERIFY(canvas()->maskDocument());
        QCOMPARE(int(mask().at(7, 45)), 3);
    }

    void exportMatchesTheCommandLine()
    {
        const QString studioOut = m_dir.filePath(QStringLiteral("export-studio"));
        QSignalSpy ended(correction(), &wsss::ui::CorrectionController::exportEnded);
        QVERIFY(correction()->exportProject(studioOut, QStringLiteral("voc"), false) != 0);
        QVERIFY(ended.wait(120000));
        QVERIFY2(ended.front().at(1).toBool(), qPrintable(m_window->lastError()));

        const QString cliOut = m_dir.filePath(QStringLiteral("export-cli"));
        const QString wsss = QCoreApplication::applicationDirPath() + QStringLiteral("/../bin/wsss");
        QVERIFY(QFile::exists(wsss));
        QProcess cli;
        cli.start(wsss, {QStringLiteral("export"), QStringLiteral("--project"), m_projectPath, QStringLiteral("--out"), cliOut,
                         QStringLiteral("--device"), QStringLiteral("cpu")});
        QVERIFY(cli.waitForFinished(120000));
        QVERIFY2(cli.exitCode() == 0, cli.readAllStandardError().constData());

        const QStringList masks =
            QDir(studioOut + QStringLiteral("/SegmentationClass")).entryList({QStringLiteral("*.png")}, QDir::Files, QDir::Name);
        QCOMPARE(masks.size(), kImages - 1); // the rejected image is left out
        QCOMPARE(QDir(cliOut + QStringLiteral("/SegmentationClass")).entryList({QStringLiteral("*.png")}, QDir::Files, QDir::Name),
                 masks);
        for (const QString &name : masks) {
            const QByteArray studio = fileBytes(studioOut + QStringLiteral("/SegmentationClass/") + name);
            QVERIFY(!studio.isEmpty());
            QCOMPARE(studio, fileBytes(cliOut + QStringLiteral("/SegmentationClass/") + name));
        }
        QCOMPARE(fileBytes(studioOut + QStringLiteral("/ImageSets/Segmentation/val.txt")),
                 fileBytes(cliOut + QStringLiteral("/ImageSets/Segmentation/val.txt")));
    }

    void movedDatasetIsAskedFor()
    {
        // The project and its dataset moved together to a new folder.
        const QString movedData = m_dir.filePath(QStringLiteral("elsewhere/data"));
        QVERIFY(QDir().mkpath(QFileInfo(movedData).absolutePath()));
        std::filesystem::copy(m_run.data, movedData.toStdString(), std::filesystem::copy_options::recursive);
        auto stale = wsss::training::readStudioProject(m_projectPath.toStdString());
        stale.data = m_dir.filePath(QStringLiteral("gone/data")).toStdString();
        const QString path = m_dir.filePath(QStringLiteral("work/moved.wsssproj"));
        wsss::training::writeStudioProject(path.toStdString(), stale);

        QStringList asked;
        correction()->setLocator([&](const QString &field, const QString &) {
            asked << field;
            return movedData;
        });
        QVERIFY2(m_window->openProject(path), qPrintable(m_window->lastError()));
        QCOMPARE(asked, QStringList{QStringLiteral("data")});
        QCOMPARE(QString::fromStdString(project()->project().data.string()), movedData);
        QCOMPARE(QString::fromStdString(wsss::training::readStudioProject(path.toStdString()).data.string()), movedData);

        correction()->setLocator([](const QString &, const QString &) { return QString(); }); // the user cancels
        wsss::training::writeStudioProject(path.toStdString(), stale);
        QVERIFY(!m_window->openProject(path));
        QVERIFY(m_window->lastError().contains(QStringLiteral("gone")));
        wsss::training::writeStudioProject(path.toStdString(), wsss::training::readStudioProject(m_projectPath.toStdString()));
        QVERIFY(m_window->openProject(path));
    }

    void theNextStartReopensTheProject()
    {
        const QString path = project()->filePath();
        QVERIFY(m_window->close()); // saves the session
        QCOMPARE(MainWindow::lastSession().project, path);
        MainWindow next;
        next.show();
        QSignalSpy shown(&next, &MainWindow::inspectionShown);
        QVERIFY(next.restoreLastSession(QStringLiteral("cpu")));
        QCOMPARE(next.correction()->project()->filePath(), path);
        QVERIFY(shown.wait(60000));
        QCOMPARE(next.correction()->project()->review(m_firstImage), ReviewState::Accepted);
    }
};

QTEST_MAIN(TestCorrection)
#include "test_correction.moc"
