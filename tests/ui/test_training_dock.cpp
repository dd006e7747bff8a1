// The training dock as the main window feeds it (the engine's events of one job) and as
// `wsss-studio --follow` uses it (a run folder that another process writes).
#include "ui/docks/training_dock.h"
#include "ui/plot/qcustomplot_wrapper.h"

#include <wsss/source_paths.h>

#include <QFile>
#include <QSaveFile>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using wsss::ui::RunCurves;
using wsss::ui::TrainingDock;
namespace tr_ = wsss::training;

namespace {

const QString kDemoCheckpoint = QStringLiteral(WSSS_SOURCE_RESOURCE_DIR "/demo/cam_vit_demo_patch8.wsss");

// Step n of a job of `total` steps at 4 it/s: three named losses and a decaying learning rate.
tr_::TrainingStep stepEvent(quint64 job, std::int64_t n, std::int64_t total)
{
    tr_::TrainingStep s;
    s.id = job;
    s.step = n;
    s.total = total;
    s.lr = 1e-3 * (1.0 - double(n) / double(total));
    s.losses = {{"total", 2.0 / double(n)}, {"cls", 1.5 / double(n)}, {"aff", 0.5 / double(n)}};
    s.stepsPerSecond = 4;
    s.secondsLeft = double(total - n) / 4;
    return s;
}

// A metrics.jsonl line as the trainer writes it.
QByteArray metricsLine(int step)
{
    return QStringLiteral(R"({"step":%1,"lr":%2,"loss":{"total":%3,"cls":%4}})")
               .arg(step)
               .arg(1e-3 / step, 0, 'g', 17)
               .arg(3.0 / step, 0, 'g', 17)
               .arg(2.0 / step, 0, 'g', 17)
               .toUtf8()
           + '\n';
}

void append(const QString &path, const QByteArray &bytes)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::Append));
    QCOMPARE(file.write(bytes), bytes.size());
}

// The legend's entries (its grid may hold empty cells once it wraps into rows).
int legendEntries(QCustomPlot *plot)
{
    int n = 0;
    for (int i = 0; i < plot->legend->itemCount(); ++i)
        n += plot->legend->item(i) != nullptr;
    return n;
}

int pointCount(const QCPGraph *graph)
{
    return graph ? graph->dataCount() : -1;
}

} // namespace

class TestTrainingDock : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
        QCoreApplication::setOrganizationName(QStringLiteral("WSSS Studio Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("test_training_dock"));
        QSettings().clear();
    }

    void plotsOnePointPerStepPerLoss()
    {
        TrainingDock dock;
        dock.setSmoothing(false); // the values as they came
        dock.startJob(7, m_dir.filePath(QStringLiteral("live")), 40);
        for (int n = 1; n <= 20; ++n)
            dock.addStep(stepEvent(7, n, 40));

        for (const char *loss : {"total", "cls", "aff"})
            QCOMPARE(pointCount(dock.lossGraph(QString::fromLatin1(loss))), 20);
        QCOMPARE(pointCount(dock.learningRateGraph()), 20);
        QCOMPARE(dock.learningRateGraph()->valueAxis(), dock.lossPlot()->yAxis2); // on the right axis
        QCOMPARE(dock.lossGraph(QStringLiteral("total"))->data()->at(4)->value, 2.0 / 5);
        // A legend entry per loss and the learning rate, each loss in its own colour.
        QCOMPARE(legendEntries(dock.lossPlot()), 4);
        QSet<QRgb> colours;
        for (const char *loss : {"total", "cls", "aff"})
            colours.insert(dock.lossGraph(QString::fromLatin1(loss))->pen().color().rgb());
        QCOMPARE(colours.size(), 3);

        QCOMPARE(dock.progressPercent(), 50);
        QCOMPARE(dock.progressText(), QStringLiteral("step 20/40 · 4.0 it/s · 5 s left"));
        QVERIFY(dock.statusText().contains(QStringLiteral("live")));

        // The same step again (the event of a resumed job) and a step of another job add nothing.
        dock.addStep(stepEvent(7, 20, 40));
        dock.addStep(stepEvent(8, 21, 40));
        QCOMPARE(pointCount(dock.lossGraph(QStringLiteral("total"))), 20);
        QCOMPARE(dock.curves().loss(QStringLiteral("total")).size(), 20);
        QCOMPARE(dock.progressPercent(), 50);
    }

    void smoothingAveragesTheLosses()
    {
        TrainingDock dock;
        dock.setSmoothing(true);
        dock.startJob(2, m_dir.filePath(QStringLiteral("smooth")), 40);
        for (int n = 1; n <= 20; ++n) {
            tr_::TrainingStep s = stepEvent(2, n, 40);
            s.losses["total"] += n % 2 ? 0.5 : -0.5; // noise for the average to take out
            dock.addStep(s);
        }
        const RunCurves::Series &raw = dock.curves().loss(QStringLiteral("total"));
        double average = raw.values[0];
        for (int i = 1; i < raw.size(); ++i)
            average = TrainingDock::kSmoothing * average + (1 - TrainingDock::kSmoothing) * raw.values[i];
        const QCPGraph *total = dock.lossGraph(QStringLiteral("total"));
        QCOMPARE(total->dataCount(), 20);
        QCOMPARE(total->data()->at(0)->value, raw.values[0]);
        QCOMPARE(total->data()->at(19)->value, average);
        QVERIFY(std::abs(total->data()->at(19)->value - raw.values[19]) > 0.1);
        // The learning rate is drawn as it is.
        QCOMPARE(dock.learningRateGraph()->data()->at(19)->value, dock.curves().learningRate().values[19]);

        dock.setSmoothing(false);
        QCOMPARE(total->dataCount(), 20);
        QCOMPARE(total->data()->at(19)->value, raw.values[19]);
        // The choice carries over to the next studio.
        TrainingDock next;
        QCOMPARE(next.smoothing(), false);
        dock.setSmoothing(true);
        TrainingDock third;
        QCOMPARE(third.smoothing(), true);
    }

    void legendClickHidesACurve()
    {
        TrainingDock dock;
        dock.resize(900, 600);
        dock.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dock));
        dock.setSmoothing(false);
        dock.startJob(6, m_dir.filePath(QStringLiteral("legend")), 40);
        for (int n = 1; n <= 20; ++n) {
            tr_::TrainingStep s = stepEvent(6, n, 40);
            s.losses["spiky"] = n == 10 ? 50.0 : 0.1;
            dock.addStep(s);
        }
        QCustomPlot *plot = dock.lossPlot();
        plot->replot();
        QVERIFY(plot->yAxis->range().upper >= 50);
        QCPGraph *spiky = dock.lossGraph(QStringLiteral("spiky"));
        QCPAbstractLegendItem *entry = plot->legend->itemWithPlottable(spiky);
        QVERIFY(entry);
        QTest::mouseClick(plot, Qt::LeftButton, {}, entry->outerRect().center());
        QVERIFY(!spiky->visible());
        QVERIFY(plot->yAxis->range().upper < 5); // the other losses fill the plot
        QTest::mouseClick(plot, Qt::LeftButton, {}, entry->outerRect().center());
        QVERIFY(spiky->visible());
        QVERIFY(plot->yAxis->range().upper >= 50);
    }

    void progressText_data()
    {
        QTest::addColumn<int>("step");
        QTest::addColumn<int>("total");
        QTest::addColumn<double>("speed");
        QTest::addColumn<double>("left");
        QTest::addColumn<QString>("text");
        QTest::newRow("minutes") << 120 << 400 << 3.2 << 87.0 << QStringLiteral("step 120/400 · 3.2 it/s · 1 min 27 s left");
        QTest::newRow("seconds") << 390 << 400 << 3.2 << 3.1 << QStringLiteral("step 390/400 · 3.2 it/s · 3 s left");
        QTest::newRow("hours") << 10 << 20000 << 2.5 << 7996.0 << QStringLiteral("step 10/20000 · 2.5 it/s · 2 h 13 min left");
        QTest::newRow("slow") << 3 << 100 << 0.25 << 388.0 << QStringLiteral("step 3/100 · 4.0 s/it · 6 min 28 s left");
        QTest::newRow("last step") << 400 << 400 << 3.2 << 0.0 << QStringLiteral("step 400/400 · finishing (validation, checkpoint)");
    }

    void progressText()
    {
        QFETCH(int, step);
        QFETCH(int, total);
        QFETCH(double, speed);
        QFETCH(double, left);
        QFETCH(QString, text);
        TrainingDock dock;
        dock.startJob(1, m_dir.filePath(QStringLiteral("eta")), total);
        tr_::TrainingStep s = stepEvent(1, step, total);
        s.stepsPerSecond = speed;
        s.secondsLeft = left;
        dock.addStep(s);
        QCOMPARE(dock.progressText(), text);
        QCOMPARE(dock.progressPercent(), 100 * step / total);
    }

    void validationIsPlottedInPercent()
    {
        TrainingDock dock;
        dock.startJob(3, m_dir.filePath(QStringLiteral("val")), 100);
        for (int n = 1; n <= 50; ++n)
            dock.addStep(stepEvent(3, n, 100));
        dock.addValidation({3, 25, {{"val_miou", 0.31}, {"val_fpr", 0.2}}});
        dock.addValidation({3, 50, {{"val_miou", 0.42}, {"val_fpr", 0.1}}});
        dock.addValidation({4, 50, {{"val_miou", 0.99}}}); // another job's
        QCOMPARE(pointCount(dock.validationGraph()), 2);
        QCOMPARE(dock.validationGraph()->data()->at(1)->key, 50.0);
        QCOMPARE(dock.validationGraph()->data()->at(1)->value, 42.0);
        QCOMPARE(dock.curves().validationScore(QStringLiteral("val_fpr")).size(), 2);
        // Validation adds no loss points.
        QCOMPARE(pointCount(dock.lossGraph(QStringLiteral("total"))), 50);
    }

    void buttonsFollowTheJob()
    {
        TrainingDock dock;
        QVERIFY(!dock.pauseButton()->isEnabled() && !dock.resumeButton()->isEnabled() && !dock.cancelButton()->isEnabled());
        QSignalSpy pause(&dock, &TrainingDock::pauseRequested);
        QSignalSpy resume(&dock, &TrainingDock::resumeRequested);
        QSignalSpy cancel(&dock, &TrainingDock::cancelRequested);

        dock.startJob(5, m_dir.filePath(QStringLiteral("buttons")), 10);
        dock.addStep(stepEvent(5, 4, 10));
        QVERIFY(dock.pauseButton()->isEnabled() && !dock.resumeButton()->isEnabled() && dock.cancelButton()->isEnabled());
        QTest::mouseClick(dock.pauseButton(), Qt::LeftButton);
        QCOMPARE(pause.count(), 1);

        dock.setPaused(true);
        QVERIFY(!dock.pauseButton()->isEnabled() && dock.resumeButton()->isEnabled() && dock.cancelButton()->isEnabled());
        QVERIFY(dock.statusText().contains(QStringLiteral("Paused at step 4")));
        QVERIFY(!dock.progressText().contains(QStringLiteral("it/s"))); // no speed while paused
        QTest::mouseClick(dock.resumeButton(), Qt::LeftButton);
        QCOMPARE(resume.count(), 1);
        dock.setPaused(false);
        QVERIFY(dock.pauseButton()->isEnabled() && !dock.resumeButton()->isEnabled());
        QTest::mouseClick(dock.cancelButton(), Qt::LeftButton);
        QCOMPARE(cancel.count(), 1);

        dock.endJob(QStringLiteral("Cancelled at step 4: checkpoint kept"));
        QVERIFY(!dock.pauseButton()->isEnabled() && !dock.resumeButton()->isEnabled() && !dock.cancelButton()->isEnabled());
    }

    void endJobShowsTheOutcome_data()
    {
        QTest::addColumn<QString>("outcome");
        QTest::addColumn<bool>("failure");
        QTest::newRow("finished") << QStringLiteral("Finished") << false;
        QTest::newRow("cancelled") << QStringLiteral("Cancelled at step 120: checkpoint kept") << false;
        QTest::newRow("failed") << QStringLiteral("Failed: the loss is not finite at step 121 (cls nan)") << true;
    }

    void endJobShowsTheOutcome()
    {
        QFETCH(QString, outcome);
        QFETCH(bool, failure);
        TrainingDock dock;
        dock.startJob(9, m_dir.filePath(QStringLiteral("outcome")), 400);
        for (int n = 1; n <= 120; ++n)
            dock.addStep(stepEvent(9, n, 400));
        dock.endJob(outcome);
        QCOMPARE(dock.statusText(), outcome);
        QCOMPARE(dock.isRunning(), false);
        const QLabel *status = dock.findChild<QLabel *>(QStringLiteral("trainingStatus"));
        QVERIFY(status);
        QCOMPARE(status->styleSheet().contains(QStringLiteral("#c62828")), failure); // red only for a failure
        QCOMPARE(dock.progressText(), QStringLiteral("step 120/400")); // no speed once ended
        QCOMPARE(dock.progressPercent(), 30);
        // The curves stay for a look at what happened.
        QCOMPARE(pointCount(dock.lossGraph(QStringLiteral("total"))), 120);
        // The next job starts clean, in the usual colour.
        dock.startJob(10, m_dir.filePath(QStringLiteral("outcome2")), 10);
        QVERIFY(status->styleSheet().isEmpty());
        QCOMPARE(dock.lossGraph(QStringLiteral("total")), nullptr);
        QVERIFY(dock.curves().isEmpty());
    }

    void checkpointListOpensACheckpoint()
    {
        TrainingDock dock;
        dock.resize(900, 700);
        dock.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dock));
        const QString run = m_dir.filePath(QStringLiteral("checkpoints"));
        const QString latest = run + QStringLiteral("/checkpoint.wsss");
        const QString kept = run + QStringLiteral("/checkpoint-step10.wsss");
        dock.startJob(11, run, 30);
        dock.addCheckpoint(kept, 10);
        dock.addCheckpoint(latest, 10);
        dock.addCheckpoint(run + QStringLiteral("/checkpoint-step20.wsss"), 20);
        dock.addCheckpoint(latest, 20); // checkpoint.wsss rewritten: one entry, at its new step
        QCOMPARE(dock.checkpointPaths(),
                 (QStringList{latest, run + QStringLiteral("/checkpoint-step20.wsss"), kept}));
        QVERIFY(dock.checkpointList()->item(0)->text().contains(QStringLiteral("step 20")));

        QSignalSpy open(&dock, &TrainingDock::openCheckpointRequested);
        QListWidget *list = dock.checkpointList();
        const QRect rect = list->visualItemRect(list->item(2));
        QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, rect.center());
        QTest::mouseDClick(list->viewport(), Qt::LeftButton, {}, rect.center());
        QCOMPARE(open.count(), 1);
        QCOMPARE(open.takeFirst().at(0).toString(), kept);

        list->setCurrentRow(0);
        auto *openButton = dock.findChild<QPushButton *>(QStringLiteral("trainingOpenCheckpointButton"));
        QVERIFY(openButton && openButton->isEnabled());
        QTest::mouseClick(openButton, Qt::LeftButton);
        QCOMPARE(open.count(), 1);
        QCOMPARE(open.takeFirst().at(0).toString(), latest);
    }

    void followReadsTheRunAsItIsWritten()
    {
        const QString run = m_dir.filePath(QStringLiteral("followed"));
        QVERIFY(QDir().mkpath(run));
        const QString metrics = run + QStringLiteral("/metrics.jsonl");
        QByteArray first;
        for (int step = 10; step <= 50; step += 10)
            first += metricsLine(step);
        append(metrics, first);

        TrainingDock dock;
        dock.follow(run);
        QVERIFY(dock.isFollowing());
        QCOMPARE(dock.curves().loss(QStringLiteral("total")).size(), 5); // read at once
        QCOMPARE(pointCount(dock.lossGraph(QStringLiteral("cls"))), 5);
        QCOMPARE(pointCount(dock.learningRateGraph()), 5);
        // Another process trains it: nothing to pause or cancel from here.
        QVERIFY(!dock.pauseButton()->isEnabled() && !dock.cancelButton()->isEnabled());

        // Three more lines and half of a fourth: the half line waits for its end.
        append(metrics, metricsLine(60) + metricsLine(70) + metricsLine(80));
        const QByteArray ninety = metricsLine(90);
        append(metrics, ninety.left(ninety.size() / 2));
        QTRY_COMPARE(pointCount(dock.lossGraph(QStringLiteral("total"))), 8);
        QTest::qWait(2 * TrainingDock::kFollowIntervalMs);
        QCOMPARE(dock.curves().loss(QStringLiteral("total")).size(), 8);
        QCOMPARE(dock.curves().lastStep(), 80);

        append(metrics, ninety.mid(ninety.size() / 2) + R"({"step":90,"val":{"val_miou":0.375}})" + "\n");
        QTRY_COMPARE(pointCount(dock.lossGraph(QStringLiteral("total"))), 9);
        QTRY_COMPARE(pointCount(dock.validationGraph()), 1);
        QCOMPARE(dock.validationGraph()->data()->at(0)->value, 37.5);
        QCOMPARE(dock.curves().loss(QStringLiteral("total")).values.back(), 3.0 / 90);

        // A resume replaces the file (atomically) with its lines up to the checkpoint's step (50)
        // and goes on with a changed learning rate; here it has written more than before by the
        // next poll, so only the changed bytes tell. The curves follow the new file.
        QByteArray resumed = first;
        for (int step = 60; step <= 150; step += 10)
            resumed += QStringLiteral(R"({"step":%1,"lr":0.5,"loss":{"total":9.0,"cls":8.0}})").arg(step).toUtf8() + '\n';
        QSaveFile replaced(metrics);
        QVERIFY(replaced.open(QIODevice::WriteOnly));
        replaced.write(resumed);
        QVERIFY(replaced.commit());
        QTRY_COMPARE(dock.curves().lastStep(), 150);
        QCOMPARE(dock.curves().loss(QStringLiteral("total")).size(), 15);
        QCOMPARE(dock.curves().loss(QStringLiteral("total")).values[5], 9.0);
        QCOMPARE(dock.curves().loss(QStringLiteral("total")).values[4], 3.0 / 50);
        QCOMPARE(pointCount(dock.lossGraph(QStringLiteral("cls"))), 15);
        QCOMPARE(pointCount(dock.validationGraph()), 0); // the validation at 90 is gone with its line

        // Its first checkpoint: listed, with the run's progress from the checkpoint's header.
        QVERIFY(QFile::copy(kDemoCheckpoint, run + QStringLiteral("/checkpoint.wsss")));
        QTRY_COMPARE(dock.checkpointPaths().size(), 1);
        QCOMPARE(QFileInfo(dock.checkpointPaths().front()).fileName(), QStringLiteral("checkpoint.wsss"));
        QTRY_VERIFY(dock.progressText().startsWith(QStringLiteral("step 400/400"))); // the demo checkpoint's
        QCOMPARE(dock.progressPercent(), 100);
        QSignalSpy open(&dock, &TrainingDock::openCheckpointRequested);
        Q_EMIT dock.checkpointList()->itemActivated(dock.checkpointList()->item(0));
        QCOMPARE(open.count(), 1);

        // Events of the engine's jobs do not mix into a followed run.
        dock.addStep(stepEvent(0, 170, 400));
        QCOMPARE(dock.curves().lastStep(), 150);
    }

    void followWaitsForARunToStart()
    {
        const QString run = m_dir.filePath(QStringLiteral("not-yet"));
        TrainingDock dock;
        dock.follow(run);
        QVERIFY(dock.statusText().contains(QStringLiteral("waiting")));
        QVERIFY(dock.curves().isEmpty());
        QVERIFY(QDir().mkpath(run));
        append(run + QStringLiteral("/metrics.jsonl"), metricsLine(10));
        QTRY_COMPARE(dock.curves().loss(QStringLiteral("total")).size(), 1);
        QTRY_VERIFY(!dock.statusText().contains(QStringLiteral("waiting")));
    }

    void formatDuration_data()
    {
        QTest::addColumn<double>("seconds");
        QTest::addColumn<QString>("text");
        QTest::newRow("seconds") << 45.2 << QStringLiteral("45 s");
        QTest::newRow("minutes") << 87.0 << QStringLiteral("1 min 27 s");
        QTest::newRow("hours") << 7500.0 << QStringLiteral("2 h 05 min");
        QTest::newRow("unknown") << std::nan("") << QString();
    }

    void formatDuration()
    {
        QFETCH(double, seconds);
        QFETCH(QString, text);
        QCOMPARE(TrainingDock::formatDuration(seconds), text);
    }
};

QTEST_MAIN(TestTrainingDock)
#include "test_training_dock.moc"
