// Training from the studio, as a user does it: Training → New training run…, the dialog filled
// and started, the run watched in the training dock to its end (progress 100 %, one plot point per
// logged step, its checkpoints listed and opened in the inspection views); pause and resume keep
// the step count; cancel mid-run leaves a checkpoint that loads; an inspection asked for while the
// run trains comes back; invalid input is refused in the dialog with the message shown; a run the
// CLI writes is followed from its metrics file. Data: the checked-in tests/fixtures/tiny_voc.
#include "support/tiny_checkpoint.h"
#include "training/checkpoint/checkpoint.h"
#include "training/engine/cancel_token.h"
#include "training/loop/run_folder.h"
#include "training/loop/trainer.h"
#include "ui/dialogs/new_training_dialog.h"
#include "ui/docks/runs_dock.h"
#include "ui/docks/training_dock.h"
#include "ui/engine/engine_bridge.h"
#include "ui/main_window.h"
#include "ui/training/run_curves.h"
#include "ui/training/training_controller.h"

#include <QAction>
#include <QApplication>
#include <QFile>
#include <QFileInfo>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include "ui/plot/qcustomplot_wrapper.h"
#include <wsss/source_paths.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <set>

using wsss::ui::MainWindow;
using wsss::ui::NewTrainingDialog;
namespace fs = std::filesystem;

namespace {

constexpr int kRunTimeoutMs = 240000;
const QString kData = QStringLiteral(WSSS_SOURCE_DIR "/tests/fixtures/tiny_voc");

} // namespace

class TestTraining : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void trainsFromTheDialogToTheEnd();
    void invalidInputIsRefusedInTheDialog();
    void pauseAndResumeKeepTheStepCount();
    void cancelLeavesALoadableCheckpoint();
    void inspectionDuringTrainingReturns();
    void followsARunTheCliWrites();
    void resumesAStoppedRunFromTheRunsPanel();

private:
    wsss::training::TrainOptions tinyRun(const QString &name, int iters) const;
    // Opens Training → New training run… and, once the dialog is up, hands it to `fill`.
    bool runDialog(std::function<void(NewTrainingDialog *)> fill);
    wsss::ui::TrainingDock *dock() const { return m_window->trainingDock(); }

    QTemporaryDir m_dir;
    std::unique_ptr<MainWindow> m_window;
};

void TestTraining::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QVERIFY2(QFile::exists(kData + QStringLiteral("/ImageSets/Segmentation/train.txt")), qPrintable(kData));
    QStandardPaths::setTestModeEnabled(true);
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
    QCoreApplication::setOrganizationName(QStringLiteral("WSSS Studio tests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_training"));
}

void TestTraining::init()
{
    QSettings().clear();
    m_window = std::make_unique<MainWindow>();
    m_window->resize(1400, 900);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    QVERIFY(m_window->openDataset(kData, QStringLiteral("train")));
}

void TestTraining::cleanup()
{
    if (m_window && m_window->training()->isTraining()) {
        m_window->training()->cancel();
        QTRY_VERIFY_WITH_TIMEOUT(!m_window->training()->isTraining(), kRunTimeoutMs);
    }
    m_window.reset();
}

wsss::training::TrainOptions TestTraining::tinyRun(const QString &name, int iters) const
{
    wsss::training::TrainOptions o;
    o.method = "cam";
    o.backbone = "vit_test_patch8";
    o.weights = "none";
    o.device = "cpu";
    o.data = kData.toStdString();
    o.split = "train";
    o.valSplit = "val";
    o.out = m_dir.filePath(name).toStdString();
    o.iters = iters;
    o.batch = 2;
    o.size = 64;
    o.saveEvery = 2;
    o.valEvery = 3;
    o.keepCheckpoints = true;
    o.logEvery = 1;
    return o;
}

bool TestTraining::runDialog(std::function<void(NewTrainingDialog *)> fill)
{
    auto *poll = new QTimer(this);
    poll->setInterval(20);
    connect(poll, &QTimer::timeout, this, [poll, fill] {
        auto *dialog = qobject_cast<NewTrainingDialog *>(QApplication::activeModalWidget());
        if (!dialog || !dialog->isVisible())
            return;
        poll->stop();
        poll->deleteLater();
        fill(dialog);
    });
    poll->start();
    auto *action = m_window->findChild<QAction *>(QStringLiteral("newTrainingRunAction"));
    if (!action)
        return false;
    action->trigger(); // modal: returns when the dialog closes
    return true;
}

void TestTraining::trainsFromTheDialogToTheEnd()
{
    QVERIFY(runDialog([this](NewTrainingDialog *dialog) {
        dialog->setOptions(tinyRun(QStringLiteral("run_full"), 6));
        dialog->start();
    }));
    QVERIFY(m_window->training()->isTraining());
    QTRY_VERIFY_WITH_TIMEOUT(!m_window->training()->isTraining(), kRunTimeoutMs);
    QVERIFY2(dock()->statusText().startsWith(QStringLiteral("Finished")), qPrintable(dock()->statusText()));
    QCOMPARE(dock()->progressPercent(), 100);
    // One point per logged step in the loss plot, and the validations (every 3 steps and the end).
    QVERIFY(dock()->lossGraph(QStringLiteral("total")));
    QCOMPARE(dock()->lossGraph(QStringLiteral("total"))->dataCount(), 6);
    QVERIFY(dock()->validationGraph());
    QCOMPARE(dock()->validationGraph()->dataCount(), 2);
    // Saves at steps 2 and 4, and the end; each kept copy exists and holds its step.
    const QStringList checkpoints = dock()->checkpointPaths();
    QCOMPARE(checkpoints.size(), 3);
    std::set<std::int64_t> steps;
    for (const QString &path : checkpoints) {
        QVERIFY2(QFile::exists(path), qPrintable(path));
        steps.insert(wsss::training::readCheckpointHeader(path.toStdString()).step);
    }
    QCOMPARE(steps, (std::set<std::int64_t>{2, 4, 6}));
    // The newest opens in the inspection views.
    QSignalSpy loaded(m_window->bridge(), &wsss::ui::EngineBridge::modelLoaded);
    Q_EMIT dock()->openCheckpointRequested(checkpoints.front());
    QVERIFY(loaded.wait(kRunTimeoutMs));
    QCOMPARE(m_window->bridge()->modelInfo().step, std::int64_t{6});
    QCOMPARE(m_window->bridge()->modelInfo().method, std::string("cam"));
}

void TestTraining::invalidInputIsRefusedInTheDialog()
{
    QString shown;
    bool stillOpen = false;
    QVERIFY(runDialog([&](NewTrainingDialog *dialog) {
        auto options = tinyRun(QStringLiteral("run_invalid"), 4);
        options.weights = m_dir.filePath(QStringLiteral("no_such_weights.safetensors")).toStdString();
        options.batch = 50; // the split has 6 images
        dialog->setOptions(options);
        dialog->start();
        shown = dialog->errorText();
        stillOpen = dialog->isVisible() && dialog->isErrorShown();
        dialog->reject();
    }));
    QVERIFY(stillOpen);
    QVERIFY2(shown.contains(QStringLiteral("no_such_weights.safetensors")), qPrintable(shown));
    QVERIFY2(shown.contains(QStringLiteral("batch size 50")), qPrintable(shown));
    QVERIFY(!m_window->training()->isTraining());
    QVERIFY(!fs::exists(m_dir.filePath(QStringLiteral("run_invalid")).toStdString()));
}

void TestTraining::pauseAndResumeKeepTheStepCount()
{
    auto options = tinyRun(QStringLiteral("run_paused"), 400);
    options.valEvery = 0;
    options.saveEvery = 1000;
    options.keepCheckpoints = false;
    QVERIFY(m_window->training()->startRun(options) != 0);
    QTRY_VERIFY_WITH_TIMEOUT(dock()->curves().lastStep() >= 1, kRunTimeoutMs);
    dock()->pauseButton()->click();
    QTRY_VERIFY_WITH_TIMEOUT(dock()->isPaused(), kRunTimeoutMs);
    QVERIFY(dock()->resumeButton()->isEnabled());
    const int pausedPoints = dock()->lossGraph(QStringLiteral("total"))->dataCount();
    QTest::qWait(600);
    QCOMPARE(dock()->lossGraph(QStringLiteral("total"))->dataCount(), pausedPoints); // nothing trains while paused
    QVERIFY(pausedPoints < 400);
    dock()->resumeButton()->click();
    QTRY_VERIFY_WITH_TIMEOUT(!m_window->training()->isTraining(), kRunTimeoutMs);
    QVERIFY2(dock()->statusText().startsWith(QStringLiteral("Finished")), qPrintable(dock()->statusText()));
    // Every step once: no step lost or repeated across the pause.
    auto *graph = dock()->lossGraph(QStringLiteral("total"));
    QCOMPARE(graph->dataCount(), 400);
    for (int i = 0; i < graph->dataCount(); ++i)
        QCOMPARE(graph->data()->at(i)->key, double(i + 1));
}

void TestTraining::cancelLeavesALoadableCheckpoint()
{
    auto options = tinyRun(QStringLiteral("run_cancelled"), 100000);
    options.valEvery = 0;
    options.saveEvery = 100000;
    QVERIFY(m_window->training()->startRun(options) != 0);
    QTRY_VERIFY_WITH_TIMEOUT(dock()->lossGraph(QStringLiteral("total")) &&
                                 dock()->lossGraph(QStringLiteral("total"))->dataCount() >= 3,
                             kRunTimeoutMs);
    dock()->cancelButton()->click();
    QTRY_VERIFY_WITH_TIMEOUT(!m_window->training()->isTraining(), kRunTimeoutMs);
    QVERIFY2(dock()->statusText().startsWith(QStringLiteral("Cancelled")), qPrintable(dock()->statusText()));
    const std::string checkpoint = options.out + "/checkpoint.wsss";
    QVERIFY(fs::exists(checkpoint));
    const auto header = wsss::training::readCheckpointHeader(checkpoint);
    QVERIFY(header.step >= 3 && header.step < 100000);
    QVERIFY2(dock()->statusText().contains(QString::number(header.step)), qPrintable(dock()->statusText()));
    QSignalSpy loaded(m_window->bridge(), &wsss::ui::EngineBridge::modelLoaded);
    m_window->openCheckpoint(QString::fromStdString(checkpoint));
    QVERIFY(loaded.wait(kRunTimeoutMs));
    QCOMPARE(m_window->bridge()->modelInfo().step, header.step);
}

void TestTraining::inspectionDuringTrainingReturns()
{
    const QString checkpoint = m_dir.filePath(QStringLiteral("inspect.wsss"));
    wsss::test::writeTinyCheckpoint(checkpoint.toStdString(), 7);
    auto options = tinyRun(QStringLiteral("run_busy"), 100000);
    options.valEvery = 0;
    options.saveEvery = 100000;
    QVERIFY(m_window->training()->startRun(options) != 0);
    QTRY_VERIFY_WITH_TIMEOUT(dock()->lossGraph(QStringLiteral("total")) &&
                                 dock()->lossGraph(QStringLiteral("total"))->dataCount() >= 1,
                             kRunTimeoutMs);
    QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
    m_window->openCheckpoint(checkpoint);
    QVERIFY(m_window->selectImage(QStringLiteral("train_000002")));
    QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), kRunTimeoutMs);
    QCOMPARE(shown.last().at(0).toString(), QStringLiteral("train_000002"));
    QVERIFY(m_window->training()->isTraining()); // it came back while the run still trained
}

void TestTraining::followsARunTheCliWrites()
{
    // A run written by the training loop itself (as `wsss train` writes it), then followed.
    auto options = tinyRun(QStringLiteral("run_cli"), 5);
    wsss::training::train(options);
    m_window->training()->follow(QString::fromStdString(options.out));
    QVERIFY(dock()->isFollowing());
    QTRY_COMPARE_WITH_TIMEOUT(dock()->lossGraph(QStringLiteral("total")) ? dock()->lossGraph(QStringLiteral("total"))->dataCount() : 0,
                              5, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(dock()->progressPercent(), 100, 10000);
    QVERIFY(!dock()->pauseButton()->isEnabled()); // not our job: nothing to pause

    // The runs panel lists it beside a second run; "Watch" on that one moves the dock to it.
    auto second = tinyRun(QStringLiteral("run_cli_2"), 3);
    wsss::training::train(second);
    wsss::ui::RunsDock *runs = m_window->runsDock();
    runs->refresh();
    QStringList listed; // the earlier tests' runs share the folder
    for (const auto &run : runs->runs())
        listed << QFileInfo(QString::fromStdString(run.dir)).fileName();
    QVERIFY2(listed.contains(QStringLiteral("run_cli")) && listed.contains(QStringLiteral("run_cli_2")),
             qPrintable(listed.join(u',')));
    Q_EMIT runs->followRequested(QString::fromStdString(second.out));
    QVERIFY(dock()->isFollowing());
    QTRY_COMPARE_WITH_TIMEOUT(dock()->lossGraph(QStringLiteral("total")) ? dock()->lossGraph(QStringLiteral("total"))->dataCount() : 0,
                              3, 10000);
}

void TestTraining::resumesAStoppedRunFromTheRunsPanel()
{
    // A run stopped at step 3 of 6 (as a cancel or a kill leaves it), then "Resume training".
    auto options = tinyRun(QStringLiteral("run_stopped"), 6);
    options.saveOnCancel = true;
    wsss::training::CancelToken stop;
    wsss::training::TrainCallbacks callbacks;
    callbacks.onStep = [&](const wsss::training::StepLog &log) {
        if (log.step == 3)
            stop.cancel();
    };
    QVERIFY_THROWS_EXCEPTION(wsss::training::Cancelled, wsss::training::train(options, callbacks, &stop));
    const QString dir = QString::fromStdString(options.out);
    QCOMPARE(wsss::training::describeRun(options.out).state, wsss::training::RunState::Stopped);

    Q_EMIT m_window->runsDock()->resumeRequested(dir);
    QVERIFY(m_window->training()->isTraining());
    QTRY_VERIFY_WITH_TIMEOUT(!m_window->training()->isTraining(), kRunTimeoutMs);
    QVERIFY2(dock()->statusText().startsWith(QStringLiteral("Finished")), qPrintable(dock()->statusText()));
    QCOMPARE(dock()->progressPercent(), 100);
    const QCPGraph *total = dock()->lossGraph(QStringLiteral("total"));
    QVERIFY(total);
    QCOMPARE(total->dataCount(), 3); // steps 4 to 6, the ones this job trained
    QCOMPARE(wsss::training::readCheckpointHeader(options.out + "/checkpoint.wsss").step, std::int64_t{6});
    QCOMPARE(wsss::training::describeRun(options.out).state, wsss::training::RunState::Finished);

    // A finished run is not resumed again: the panel says why.
    QVERIFY(m_window->training()->resumeRun(dir) == 0);
    QVERIFY2(m_window->training()->lastProblems().join(u' ').contains(QStringLiteral("finished")),
             qPrintable(m_window->training()->lastProblems().join(u' ')));
}

QTEST_MAIN(TestTraining)
#include "test_training.moc"
