#include "ui/engine/engine_bridge.h"

#include <QMetaObject>


namespace wsss::ui {

namespace tr = wsss::training;

namespace {

template <class... Ts> struct Overloaded : Ts... { using Ts::operator()...; };
template <class... Ts> Overloaded(Ts...) -> Overloaded<Ts...>;

QString fromStd(const std::string &s) { return QString::fromStdString(s); }

} // namespace

EngineBridge::EngineBridge(QObject *parent) : QObject(parent)
{
    // Needed for queued connections and QSignalSpy on the signals that carry core types.
    qRegisterMetaType<tr::ModelInfo>("wsss::training::ModelInfo");
    qRegisterMetaType<std::shared_ptr<const tr::Inspection>>(
        "std::shared_ptr<const wsss::training::Inspection>");
    qRegisterMetaType<std::shared_ptr<const tr::EvaluationResult>>(
        "std::shared_ptr<const wsss::training::EvaluationResult>");
    qRegisterMetaType<std::shared_ptr<const tr::RefinedMaps>>("std::shared_ptr<const wsss::training::RefinedMaps>");

    // The sink runs on the worker thread: copy the event and hand it to the GUI thread. Posted
    // calls still pending when this object dies are discarded by ~QObject.
    m_engine = std::make_unique<tr::Engine>([this](const tr::Event &event) {
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
    tr::LoadModelJob job;
    job.checkpointPath = checkpoint.toStdString();
    job.device = device.isEmpty() ? std::string("auto") : device.toStdString();
    return submit(job);
}

quint64 EngineBridge::evaluate(const QString &dataRoot, const QString &split, double bgThreshold)
{
    tr::EvaluateJob job;
    job.dataRoot = dataRoot.toStdString();
    job.split = split.toStdString();
    job.bgThreshold = static_cast<float>(bgThreshold);
    return submit(job);
}

quint64 EngineBridge::submit(tr::Job job)
{
    const quint64 id = m_engine->submit(std::move(job));
    QSet<quint64> running = m_running;
    running.insert(id);
    setRunning(running);
    return id;
}

quint64 EngineBridge::inspect(const QString &id, const QString &imagePath, const QVector<int> &labels)
{
    tr::InspectJob job;
    job.imageId = id.toStdString();
    job.imagePath = imagePath.toStdString();
    job.labels.assign(labels.begin(), labels.end());
    const quint64 jobId = m_engine->submit(job);
    m_latestInspect = jobId;
    m_inspectJobs.insert(jobId);
    QSet<quint64> running = m_running;
    running.insert(jobId);
    setRunning(running);
    return jobId;
}

quint64 EngineBridge::refine(std::shared_ptr<const tr::Inspection> inspection, const QString &mapKind,
                             const tr::MaskRule &rule)
{
    tr::RefineJob job;
    job.inspection = std::move(inspection);
    job.mapKind = mapKind.toStdString();
    job.rule = rule;
    const quint64 jobId = m_engine->submit(std::move(job));
    m_latestRefine = jobId;
    m_refineJobs.insert(jobId);
    QSet<quint64> running = m_running;
    running.insert(jobId);
    setRunning(running);
    return jobId;
}

quint64 EngineBridge::inferDataset(const QString &dataRoot, const QString &split, const QString &outDir,
                                   const tr::MaskRule &rule, const QString &mapKind)
{
    tr::InferDatasetJob job;
    job.dataRoot = dataRoot.toStdString();
    job.split = split.toStdString();
    job.out = outDir.toStdString();
    job.rule = rule;
    job.mapKind = mapKind.toStdString();
    return submit(std::move(job));
}

void EngineBridge::cancel(quint64 jobId)
{
    m_engine->cancel(jobId);
}

void EngineBridge::dispatch(const tr::Event &event)
{
    std::visit(
        Overloaded{
            [this](const tr::JobStarted &e) { Q_EMIT jobStarted(e.id, fromStd(e.what)); },
            [this](const tr::JobProgress &e) {
                Q_EMIT jobProgress(e.id, e.done, e.total, fromStd(e.message));
            },
            [this](const tr::JobLog &e) { Q_EMIT logMessage(fromStd(e.message)); },
            [this](const tr::ModelLoaded &e) {
                m_hasModel = true;
                m_modelInfo = e.info;
                Q_EMIT modelLoaded(e.info);
            },
            [this](const tr::InspectionReady &e) {
                // A replaced inspect job may never report; a newer result retires the older ones.
                if (e.id < m_latestInspect || !e.inspection)
                    return;
                Q_EMIT inspectionReady(e.inspection);
            },
            [this](const tr::EvaluationReady &e) {
                if (e.result)
                    Q_EMIT evaluationReady(e.id, e.result);
            },
            [this](const tr::RefinementReady &e) {
                if (e.id < m_latestRefine || !e.refined)
                    return;
                Q_EMIT refinementReady(e.refined);
            },
            [this](const tr::DatasetInferred &e) {
                Q_EMIT datasetInferred(e.id, fromStd(e.out), e.written, e.total, e.complete);
            },
            [this](const tr::JobFailed &e) {
                const QString message = fromStd(e.message);
                jobEnded(e.id);
                Q_EMIT jobFailed(e.id, message);
            },
            [this](const tr::JobCancelled &e) {
                jobEnded(e.id);
                Q_EMIT jobCancelled(e.id);
            },
            [this](const tr::JobFinished &e) {
                jobEnded(e.id);
                Q_EMIT jobFinished(e.id);
            },
        },
        event);
}

void EngineBridge::jobEnded(quint64 jobId)
{
    QSet<quint64> running = m_running;
    running.remove(jobId);
    // Latest-wins inspect jobs that were replaced in the queue may end silently: when an inspect
    // job ends, every older one is over too.
    for (QSet<quint64> *latestWins : {&m_inspectJobs, &m_refineJobs}) {
        if (!latestWins->contains(jobId))
            continue;
        for (auto it = latestWins->begin(); it != latestWins->end();) {
            if (*it <= jobId) {
                running.remove(*it);
                it = latestWins->erase(it);
            } else {
                ++it;
            }
        }
    }
    setRunning(running);
}

void EngineBridge::setRunning(const QSet<quint64> &running)
{
    const bool wasBusy = isBusy();
    m_running = running;
    if (wasBusy != isBusy())
        Q_EMIT busyChanged(isBusy());
}

} // namespace wsss::ui
