#pragma once
// EngineBridge: the one place engine events become Qt signals. Owns the engine; its sink runs
// on the worker thread and posts every event to this object's (GUI) thread as a queued call,
// so every signal below is emitted on the GUI thread. Results travel as
// std::shared_ptr<const Inspection>: immutable and never copied.
#include "training/engine/engine.h"
#include "training/engine/events.h"
#include "training/loop/trainer.h"
#include "training/methods/inspection.h"

#include <QMetaType>
#include <QObject>
#include <QSet>
#include <QString>
#include <QVector>

#include <memory>

Q_DECLARE_METATYPE(wsss::training::ModelInfo)
Q_DECLARE_METATYPE(std::shared_ptr<const wsss::training::Inspection>)
Q_DECLARE_METATYPE(std::shared_ptr<const wsss::training::EvaluationResult>)
Q_DECLARE_METATYPE(std::shared_ptr<const wsss::training::RefinedMaps>)
Q_DECLARE_METATYPE(wsss::training::TrainingStep)
Q_DECLARE_METATYPE(wsss::training::TrainingValidated)

namespace wsss::ui {

class EngineBridge : public QObject {
    Q_OBJECT
public:
    explicit EngineBridge(QObject *parent = nullptr);
    ~EngineBridge() override; // joins the worker before the signals go away

    // Each returns the job id that its events will carry.
    quint64 loadModel(const QString &checkpoint, const QString &device = QStringLiteral("auto"));
    // Latest wins: an inspection finishing after a newer inspect() was asked for is dropped.
    quint64 inspect(const QString &id, const QString &imagePath, const QVector<int> &labels);
    // Scores the split against its ground truth (see training::EvaluateJob); ends with
    // evaluationReady, jobFailed or jobCancelled.
    // The split's masks under the rule's background threshold and refinements (PAR, the CRF and
    // its preset); a band is scored as its threshold.
    quint64 evaluate(const QString &dataRoot, const QString &split, const wsss::vision::PseudoLabelRule &rule);
    // The rule's refinements (PAR, CRF) of one map kind of a cached inspection, on the worker.
    // Latest wins like inspect(): only the newest request's refinementReady is emitted.
    quint64 refine(std::shared_ptr<const wsss::training::Inspection> inspection, const QString &mapKind,
                   const wsss::vision::PseudoLabelRule &rule);
    // Writes the split's pseudo-masks under `rule` to `outDir` (see training::InferDatasetJob);
    // jobProgress per image, then datasetInferred and jobFinished, jobCancelled or jobFailed.
    quint64 inferDataset(const QString &dataRoot, const QString &split, const QString &outDir,
                         const wsss::vision::PseudoLabelRule &rule, const QString &mapKind);
    // Exports a project's pseudo-label dataset to `outDir` (training::ExportProjectJob, the code of
    // `wsss export`): jobProgress per image, then projectExported and jobFinished, or jobCancelled
    // or jobFailed with nothing left at outDir.
    quint64 exportProject(const wsss::training::StudioProject &project, const QString &projectFile,
                          const QString &outDir, const QString &format, bool force);
    // Trains a run (training::TrainJob): trainingStep after every step, trainingValidated,
    // checkpointSaved; then jobFinished, jobCancelled (the step reached is saved) or jobFailed.
    quint64 train(const wsss::training::TrainOptions &options);
    // Between two steps of a train job; trainingPaused tells when it took effect.
    void pause(quint64 jobId);
    void resume(quint64 jobId);
    void cancel(quint64 jobId);

    // The jobs submitted and not yet ended, in submission order: the queue a user sees.
    struct JobEntry {
        quint64 id = 0;
        QString kind;  // "load", "inspect", "evaluate", "refine", "infer", "train"
        QString what;  // what it does, from its JobStarted once running ("Queued: …" before)
        bool running = false;
        bool paused = false;
        qint64 done = 0, total = 0; // its last progress
    };
    const QVector<JobEntry> &jobs() const { return m_jobs; }

    bool isBusy() const { return !m_running.isEmpty(); }
    bool hasModel() const { return m_hasModel; }
    const wsss::training::ModelInfo &modelInfo() const { return m_modelInfo; }

Q_SIGNALS:
    void modelLoaded(const wsss::training::ModelInfo &info);
    void inspectionReady(std::shared_ptr<const wsss::training::Inspection> inspection);
    void jobStarted(quint64 jobId, const QString &what);
    void evaluationReady(quint64 jobId, std::shared_ptr<const wsss::training::EvaluationResult> result);
    void refinementReady(std::shared_ptr<const wsss::training::RefinedMaps> refined);
    // What an inferDataset job left on disk (before its jobFinished or jobCancelled).
    void datasetInferred(quint64 jobId, const QString &outDir, qint64 written, qint64 total, bool complete);
    void projectExported(quint64 jobId, const QString &outDir, qint64 images, qint64 corrected, qint64 rejected);
    void trainingStep(quint64 jobId, const wsss::training::TrainingStep &step);
    void trainingValidated(quint64 jobId, const wsss::training::TrainingValidated &validation);
    void checkpointSaved(quint64 jobId, const QString &path, qint64 step);
    void trainingPaused(quint64 jobId, bool paused, qint64 step);
    void jobFinished(quint64 jobId);
    void jobCancelled(quint64 jobId);
    // A queued inspect or refine job that a newer one took the place of.
    void jobReplaced(quint64 jobId, quint64 by);
    // jobs() changed: a job was submitted, started, progressed, paused or ended.
    void jobsChanged();
    void jobFailed(quint64 jobId, const QString &message);
    void jobProgress(quint64 jobId, qint64 done, qint64 total, const QString &message);
    void logMessage(const QString &message);
    // The same line with the job it came from (a train job's warnings go to its log view).
    void jobLogged(quint64 jobId, const QString &message);
    // True while at least one submitted job has not finished, failed or been cancelled.
    void busyChanged(bool busy);

private:
    void dispatch(const wsss::training::Event &event); // GUI thread
    quint64 submit(wsss::training::Job job, const QString &kind, const QString &what);
    JobEntry *findJob(quint64 jobId);
    void jobEnded(quint64 jobId); // every job's one ending event: finished, failed, cancelled or replaced
    void setRunning(const QSet<quint64> &running);

    std::unique_ptr<wsss::training::Engine> m_engine;
    QSet<quint64> m_running;
    QVector<JobEntry> m_jobs;
    // Newer results retire older ones: an inspection that was already running when a newer one was
    // asked for still reports, and is not shown.
    quint64 m_latestInspect = 0;
    quint64 m_latestRefine = 0;
    bool m_hasModel = false;
    wsss::training::ModelInfo m_modelInfo;
};

} // namespace wsss::ui
