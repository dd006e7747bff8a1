#include "ui/training/training_controller.h"

#include "training/engine/training_catalog.h"
#include "training/loop/run_folder.h"
#include "ui/dialogs/new_training_dialog.h"
#include "ui/docks/runs_dock.h"
#include "ui/docks/training_dock.h"
#include "ui/engine/engine_bridge.h"

#include <QDir>
#include <QFileInfo>
#include <QMessageBox>

namespace wsss::ui {

namespace core = wsss::training;

TrainingController::TrainingController(EngineBridge *bridge, TrainingDock *dock, RunsDock *runs, QWidget *dialogParent)
    : QObject(dialogParent), m_bridge(bridge), m_dock(dock), m_runs(runs), m_dialogParent(dialogParent)
{
    connect(m_bridge, &EngineBridge::trainingStep, this, [this](quint64 jobId, const core::TrainingStep &step) {
        if (jobId == m_job)
            m_dock->addStep(step);
    });
    connect(m_bridge, &EngineBridge::trainingValidated, this,
            [this](quint64 jobId, const core::TrainingValidated &validation) {
                if (jobId != m_job)
                    return;
                if (const auto it = validation.scores.find("val_miou"); it != validation.scores.end())
                    m_lastValMiou = it->second;
                m_dock->addValidation(validation);
            });
    connect(m_bridge, &EngineBridge::checkpointSaved, this, [this](quint64 jobId, const QString &path, qint64 step) {
        if (jobId != m_job)
            return;
        m_lastCheckpointStep = step;
        m_dock->addCheckpoint(path, step);
    });
    connect(m_bridge, &EngineBridge::trainingPaused, this, [this](quint64 jobId, bool paused, qint64) {
        if (jobId == m_job)
            m_dock->setPaused(paused);
    });
    connect(m_bridge, &EngineBridge::jobLogged, this, [this](quint64 jobId, const QString &message) {
        if (jobId == m_job)
            m_dock->appendLog(message);
    });
    connect(m_bridge, &EngineBridge::jobFinished, this, [this](quint64 jobId) {
        QString outcome = tr("Finished");
        if (m_lastValMiou >= 0)
            outcome += tr(": val mIoU %1 %").arg(100 * m_lastValMiou, 0, 'f', 1);
        end(jobId, true, outcome);
    });
    connect(m_bridge, &EngineBridge::jobCancelled, this, [this](quint64 jobId) {
        end(jobId, false,
            m_lastCheckpointStep > 0
                ? tr("Cancelled: the checkpoint of step %1 is kept; resume continues from it").arg(m_lastCheckpointStep)
                : tr("Cancelled before the first step: nothing was saved"));
    });
    connect(m_bridge, &EngineBridge::jobFailed, this, [this](quint64 jobId, const QString &message) {
        end(jobId, false, tr("Failed: %1").arg(message));
    });

    connect(m_dock, &TrainingDock::pauseRequested, this, &TrainingController::pause);
    connect(m_dock, &TrainingDock::resumeRequested, this, &TrainingController::resume);
    connect(m_dock, &TrainingDock::cancelRequested, this, &TrainingController::cancel);
    connect(m_dock, &TrainingDock::openCheckpointRequested, this, &TrainingController::openCheckpointRequested);
    connect(m_runs, &RunsDock::openCheckpointRequested, this, &TrainingController::openCheckpointRequested);
    connect(m_runs, &RunsDock::resumeRequested, this, [this](const QString &runDir) {
        if (resumeRun(runDir) == 0)
            QMessageBox::warning(m_dialogParent, tr("Resume training"), m_problems.join(QLatin1Char('\n')));
    });
    connect(m_runs, &RunsDock::followRequested, this, [this](const QString &runDir) {
        if (m_job == 0) {
            follow(runDir);
        } else if (QFileInfo(runDir) == QFileInfo(m_runDir)) {
            m_dock->show(); // the run the studio trains: its dock already shows it
            m_dock->raise();
        } else {
            // The dock shows one run; the studio's own would vanish from view while it trains.
            QMessageBox::information(m_dialogParent, tr("Watch run"),
                                     tr("The training panel shows the run the studio is training (%1). Select "
                                        "runs in the runs panel to overlay their curves, or watch %2 once it "
                                        "ends.")
                                         .arg(QFileInfo(m_runDir).fileName(), QFileInfo(runDir).fileName()));
        }
    });
}

quint64 TrainingController::startRun(const core::TrainOptions &options)
{
    m_problems.clear();
    if (m_job != 0) {
        m_problems << tr("a run is already training (%1); cancel it or wait for it to end").arg(m_runDir);
        return 0;
    }
    for (const auto &problem : core::checkTrainOptions(options))
        m_problems << QString::fromStdString(problem);
    if (!m_problems.isEmpty())
        return 0;
    m_job = m_bridge->train(options);
    m_runDir = QString::fromStdString(options.out);
    m_lastCheckpointStep = -1;
    m_lastValMiou = -1;
    m_dock->startJob(m_job, m_runDir, options.iters);
    m_dock->show();
    m_dock->raise();
    // The runs panel shows the new run beside its siblings.
    const QString parent = QFileInfo(m_runDir).absoluteDir().absolutePath();
    m_runs->setFolder(parent);
    return m_job;
}

quint64 TrainingController::resumeRun(const QString &runDir)
{
    core::TrainOptions options;
    options.out = runDir.toStdString();
    options.resume = true;
    core::RunDescription run;
    try {
        run = core::describeRun(options.out);
    } catch (const std::exception &e) {
        m_problems = QStringList{QString::fromStdString(e.what())};
        return 0;
    }
    const QString name = QFileInfo(runDir).fileName();
    if (run.state == core::RunState::Finished) {
        m_problems = QStringList{tr("%1 is finished (%2 steps): there is nothing to resume; start a new run to train "
                                    "longer")
                                     .arg(name)
                                     .arg(run.step)};
        return 0;
    }
    if (run.state == core::RunState::Training) {
        m_problems = QStringList{tr("%1 is training (%2); watch it instead").arg(name, QString::fromStdString(run.holder))};
        return 0;
    }
    // Replaced by the run's stored options when it starts; read here for the progress bar.
    if (run.total > 0)
        options.iters = static_cast<int>(run.total);
    return startRun(options);
}

bool TrainingController::newRunDialog(const QString &dataRoot, const QString &split)
{
    std::vector<core::MethodDescription> methods;
    std::vector<std::string> backbones;
    std::vector<core::DeviceDescription> devices;
    try {
        methods = core::methodCatalog();
        backbones = core::backbonePresets();
        devices = core::availableDevices();
    } catch (const std::exception &e) {
        m_problems = QStringList{QString::fromStdString(e.what())};
        return false;
    }
    NewTrainingDialog dialog(methods, backbones, devices, &core::checkTrainOptions, m_dialogParent);
    if (!dataRoot.isEmpty())
        dialog.setDataset(dataRoot, split);
    if (dialog.exec() != QDialog::Accepted)
        return false;
    return startRun(dialog.options()) != 0;
}

void TrainingController::follow(const QString &runDir)
{
    m_dock->follow(runDir);
    m_dock->show();
    m_dock->raise();
    m_runs->setFolder(QFileInfo(runDir).absoluteDir().absolutePath());
}

void TrainingController::pause()
{
    if (m_job != 0)
        m_bridge->pause(m_job);
}

void TrainingController::resume()
{
    if (m_job != 0)
        m_bridge->resume(m_job);
}

void TrainingController::cancel()
{
    if (m_job != 0)
        m_bridge->cancel(m_job);
}

void TrainingController::end(quint64 jobId, bool finished, const QString &outcome)
{
    if (jobId == 0 || jobId != m_job)
        return;
    m_job = 0;
    m_dock->endJob(outcome);
    Q_EMIT runEnded(jobId, finished, outcome);
}

} // namespace wsss::ui
