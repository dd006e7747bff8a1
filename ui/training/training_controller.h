#pragma once
// TrainingController: the studio's training runs, between the engine and the training widgets.
// It starts a run (from the New training run dialog or given options) as an engine job, feeds the
// training dock with that job's steps, validations, checkpoints and log, pauses, resumes and
// cancels it, follows a run folder another process writes (`wsss-studio --follow RUN`), and asks
// for a checkpoint to be opened in the inspection views. One run at a time is watched.
#include "training/loop/trainer.h"

#include <QObject>
#include <QString>
#include <QStringList>

class QWidget;

namespace wsss::ui {

class EngineBridge;
class RunsDock;
class TrainingDock;

class TrainingController : public QObject {
    Q_OBJECT
public:
    TrainingController(EngineBridge *bridge, TrainingDock *dock, RunsDock *runs, QWidget *dialogParent);

    // Checks the options (training::checkTrainOptions) and submits the run; 0 when refused, with
    // the reasons in lastProblems().
    quint64 startRun(const wsss::training::TrainOptions &options);
    // The New training run dialog, prefilled with the open dataset; true when a run started.
    bool newRunDialog(const QString &dataRoot = {}, const QString &split = {});
    // Continues a stopped run from its last checkpoint with its stored options (`wsss train
    // --resume --out RUN`); 0 when refused, with the reasons in lastProblems().
    quint64 resumeRun(const QString &runDir);
    // Watches RUN/metrics.jsonl and the run's checkpoints as another process writes them.
    void follow(const QString &runDir);

    void pause();
    void resume();
    void cancel();

    quint64 currentJob() const { return m_job; }
    bool isTraining() const { return m_job != 0; }
    const QStringList &lastProblems() const { return m_problems; }

Q_SIGNALS:
    // The user asked to inspect a checkpoint (from the training dock or the runs panel).
    void openCheckpointRequested(const QString &path);
    // The watched job ended; outcome is what the dock shows ("Finished …", "Cancelled …", "Failed: …").
    void runEnded(quint64 jobId, bool finished, const QString &outcome);

private:
    void end(quint64 jobId, bool finished, const QString &outcome);

    EngineBridge *m_bridge;
    TrainingDock *m_dock;
    RunsDock *m_runs;
    QWidget *m_dialogParent;
    quint64 m_job = 0;
    QString m_runDir;
    qint64 m_lastCheckpointStep = -1;
    double m_lastValMiou = -1;
    QStringList m_problems;
};

} // namespace wsss::ui
