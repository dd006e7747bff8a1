#include "ui/training/training_controller.h"

#include "training/engine/training_catalog.h"
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
