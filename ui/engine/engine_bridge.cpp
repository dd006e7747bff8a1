#include "ui/engine/engine_bridge.h"

#include <QMetaObject>

#include <algorithm>


namespace wsss::ui {

namespace core = wsss::training;

namespace {

template <class... Ts> struct Overloaded : Ts... { using Ts::operator()...; };
template <class... Ts> Overloaded(Ts...) -> Overloaded<Ts...>;

QString fromStd(const std::string &s) { return QString::fromStdString(s); }

} // namespace

EngineBridge::EngineBridge(QObject *parent) : QObject(parent)
{
    // Needed for queued connections and QSignalSpy on the signals that carry core types.
    qRegisterMetaType<core::ModelInfo>("wsss::training::ModelInfo");
    qRegisterMetaType<std::shared_ptr<const core::Inspection>>(
        "std::shared_ptr<const wsss::training::Inspection>");
    qRegisterMetaType<std::shared_ptr<const core::EvaluationResult>>(
        "std::shared_ptr<const wsss::training::EvaluationResult>");
    qRegisterMetaType<std::shared_ptr<const core::RefinedMaps>>("std::shared_ptr<const wsss::training::RefinedMaps>");
    qRegisterMetaType<core::TrainingStep>("wsss::training::TrainingStep");
    qRegisterMetaType<core::TrainingValidated>("wsss::training::TrainingValidated");

    // The sink runs on the worker thread: copy the event and hand it to the GUI thread. Posted
    // calls still pending when this object dies are discarded by ~QObject.
    m_engine = std::make_unique<core::Engine>([this](const core::Event &event) {
        QMetaObject::invokeMethod(
            this, [this, event]() { dispatch(event); }, Qt::QueuedConnection);
    });
}

EngineBridge::~EngineBridge()
{
    m_engine.reset(); // join the worker while this object is still whole
}

quint64 EngineBridge::loadModel(const QString &checkpoint, const QString &device)
{
    core::LoadModelJob job;
    job.checkpointPath = checkpoint.toStdString();
    job.device = device.isEmpty() ? std::string("auto") : device.toStdString();
    return submit(std::move(job), QStringLiteral("load"), tr("Load %1").arg(checkpoint));
}

quint64 EngineBridge::evaluate(const QString &dataRoot, const QString &split, const wsss::vision::PseudoLabelRule &rule)
{
    core::EvaluateJob job;
    job.dataRoot = dataRoot.toStdString();
    job.split = split.toStdString();
    job.bgThreshold = rule.bgThreshold;
    job.parIterations = rule.parIterations;
    job.crf = rule.crf;
    job.crfPreset = rule.crfPreset;
    return submit(std::move(job), QStringLiteral("evaluate"), tr("Evaluate %1 of %2").arg(split, dataRoot));
}

quint64 EngineBridge::train(const core::TrainOptions &options)
{
    const QString out = fromStd(options.out);
    const QString what = options.resume ? tr("Resume the run in %1").arg(out)
                                        : tr("Train %1 in %2").arg(fromStd(options.method), out);
    return submit(core::TrainJob{options}, QStringLiteral("train"), what);
}

void EngineBridge::pause(quint64 jobId)
{
    m_engine->pause(jobId);
}

void EngineBridge::resume(quint64 jobId)
{
    m_engine->resume(jobId);
}

quint64 EngineBridge::submit(core::Job job, const QString &kind, const QString &what)
{
    const quint64 id = m_engine->submit(std::move(job));
    JobEntry entry;
    entry.id = id;
    entry.kind = kind;
    entry.what = what;
    m_jobs.append(entry);
    QSet<quint64> running = m_running;
    running.insert(id);
    setRunning(running);
    Q_EMIT jobsChanged();
    return id;
}

EngineBridge::JobEntry *EngineBridge::findJob(quint64 jobId)
{
    for (auto &entry : m_jobs)
        if (entry.id == jobId)
            return &entry;
    return nullptr;
}

quint64 EngineBridge::inspect(const QString &id, const QString &imagePath, const QVector<int> &labels)
{
    core::InspectJob job;
    job.imageId = id.toStdString();
    job.imagePath = imagePath.toStdString();
    job.labels.assign(labels.begin(), labels.end());
    const quint64 jobId = submit(std::move(job), QStringLiteral("inspect"), tr("Inspect %1").arg(id));
    m_latestInspect = jobId;
    return jobId;
}

quint64 EngineBridge::refine(std::shared_ptr<const core::Inspection> inspection, const QString &mapKind,
                             const wsss::vision::PseudoLabelRule &rule)
{
    core::RefineJob job;
    job.inspection = std::move(inspection);
    job.mapKind = mapKind.toStdString();
    job.rule = rule;
    const QString what = tr("Refine %1").arg(fromStd(job.inspection ? job.inspection->imageId : std::string()));
    const quint64 jobId = submit(std::move(job), QStringLiteral("refine"), what);
    m_latestRefine = jobId;
    return jobId;
}

quint64 EngineBridge::inferDataset(const QString &dataRoot, const QString &split, const QString &outDir,
                                   const wsss::vision::PseudoLabelRule &rule, const QString &mapKind)
{
    core::InferDatasetJob job;
    job.dataRoot = dataRoot.toStdString();
    job.split = split.toStdString();
    job.out = outDir.toStdString();
    job.rule = rule;
    job.mapKind = mapKind.toStdString();
    return submit(std::move(job), QStringLiteral("infer"), tr("Write pseudo-masks of %1 to %2").arg(split, outDir));
}

quint64 EngineBridge::exportProject(const core::StudioProject &project, const QString &projectFile,
                                    const QString &outDir, const QString &format, bool force)
{
    core::ExportProjectJob job;
    job.project = project;
    job.projectFile = projectFile.toStdString();
    job.out = outDir.toStdString();
    job.format = format.toStdString();
    job.force = force;
    return submit(std::move(job), QStringLiteral("export"), tr("Export the project to %1").arg(outDir));
}

void EngineBridge::cancel(quint64 jobId)
{
    m_engine->cancel(jobId);
}

void EngineBridge::dispatch(const core::Event &event)
{
    std::visit(
        Overloaded{
            [this](const core::JobStarted &e) {
                if (auto *entry = findJob(e.id)) {
                    entry->running = true;
                    entry->what = fromStd(e.what);
                    Q_EMIT jobsChanged();
                }
                Q_EMIT jobStarted(e.id, fromStd(e.what));
            },
            [this](const core::JobProgress &e) {
                if (auto *entry = findJob(e.id)) {
                    entry->done = e.done;
                    entry->total = e.total;
                    Q_EMIT jobsChanged();
                }
                Q_EMIT jobProgress(e.id, e.done, e.total, fromStd(e.message));
            },
            [this](const core::TrainingStep &e) {
                if (auto *entry = findJob(e.id)) {
                    entry->done = e.step;
                    entry->total = e.total;
                    Q_EMIT jobsChanged();
                }
                Q_EMIT trainingStep(e.id, e);
            },
            [this](const core::TrainingValidated &e) { Q_EMIT trainingValidated(e.id, e); },
            [this](const core::CheckpointSaved &e) { Q_EMIT checkpointSaved(e.id, fromStd(e.path), e.step); },
            [this](const core::TrainingPaused &e) {
                if (auto *entry = findJob(e.id)) {
                    entry->paused = e.paused;
                    Q_EMIT jobsChanged();
                }
                Q_EMIT trainingPaused(e.id, e.paused, e.step);
            },
            [this](const core::JobLog &e) {
                Q_EMIT logMessage(fromStd(e.message));
                Q_EMIT jobLogged(e.id, fromStd(e.message));
            },
            [this](const core::ModelLoaded &e) {
                m_hasModel = true;
                m_modelInfo = e.info;
                Q_EMIT modelLoaded(e.info);
            },
            [this](const core::InspectionReady &e) {
                // A replaced inspect job may never report; a newer result retires the older ones.
                if (e.id < m_latestInspect || !e.inspection)
                    return;
                Q_EMIT inspectionReady(e.inspection);
            },
            [this](const core::EvaluationReady &e) {
                if (e.result)
                    Q_EMIT evaluationReady(e.id, e.result);
            },
            [this](const core::RefinementReady &e) {
                if (e.id < m_latestRefine || !e.refined)
                    return;
                Q_EMIT refinementReady(e.refined);
            },
            [this](const core::DatasetInferred &e) {
                Q_EMIT datasetInferred(e.id, fromStd(e.out), e.written, e.total, e.complete);
            },
            [this](const core::ProjectExported &e) {
                Q_EMIT projectExported(e.id, fromStd(e.out), e.images, e.corrected, e.rejected);
            },
            [this](const core::JobFailed &e) {
                const QString message = fromStd(e.message);
                jobEnded(e.id);
                Q_EMIT jobFailed(e.id, message);
            },
            [this](const core::JobCancelled &e) {
                jobEnded(e.id);
                Q_EMIT jobCancelled(e.id);
            },
            [this](const core::JobFinished &e) {
                jobEnded(e.id);
                Q_EMIT jobFinished(e.id);
            },
            [this](const core::JobReplaced &e) {
                jobEnded(e.id);
                Q_EMIT jobReplaced(e.id, e.by);
            },
        },
        event);
}

void EngineBridge::jobEnded(quint64 jobId)
{
    QSet<quint64> running = m_running;
    running.remove(jobId);
    m_jobs.erase(std::remove_if(m_jobs.begin(), m_jobs.end(), [&](const JobEntry &e) { return e.id == jobId; }),
                 m_jobs.end());
    setRunning(running);
    Q_EMIT jobsChanged();
}

void EngineBridge::setRunning(const QSet<quint64> &running)
{
    const bool wasBusy = isBusy();
    m_running = running;
    if (wasBusy != isBusy())
        Q_EMIT busyChanged(isBusy());
}

} // namespace wsss::ui
