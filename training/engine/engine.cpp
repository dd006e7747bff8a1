#include "training/engine/engine.h"

#include "training/checkpoint/checkpoint.h"
#include "training/engine/cancel_token.h"
#include "training/export/dataset_inference.h"
#include "training/loop/validation.h"
#include "training/methods/inference.h"
#include "vision/core/error.h"
#include "vision/io/image_io.h"
#include "vision/io/voc_reader.h"
#include "vision/metrics/confusion_matrix.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace wsss::training {

struct Engine::State {
    Sink sink;
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::pair<JobId, Job>> queue;
    JobId nextId = 1;
    JobId runningId = 0;
    std::shared_ptr<CancelToken> runningToken;
    std::set<JobId> cancelledQueued; // cancelled before they started
    bool stop = false;
    std::thread worker;

    // Owned by the worker thread only.
    std::optional<LoadedModel> model;
    std::string checkpointPath;
    torch::Device device{torch::kCPU};

    void run();
    void execute(JobId id, const Job &job, const CancelToken &token);
    void evaluate(JobId id, const EvaluateJob &job, const CancelToken &token);
    void inferDataset(JobId id, const InferDatasetJob &job, const CancelToken &token);
};

Engine::Engine(Sink sink) : m_state(std::make_unique<State>())
{
    m_state->sink = std::move(sink);
    m_state->worker = std::thread([s = m_state.get()] { s->run(); });
}

Engine::~Engine()
{
    {
        std::lock_guard lock(m_state->mutex);
        m_state->stop = true;
        m_state->queue.clear();
        if (m_state->runningToken)
            m_state->runningToken->cancel();
    }
    m_state->wake.notify_all();
    m_state->worker.join();
}

JobId Engine::submit(Job job)
{
    std::lock_guard lock(m_state->mutex);
    const JobId id = m_state->nextId++;
    if (std::holds_alternative<InspectJob>(job) || std::holds_alternative<RefineJob>(job)) {
        // Latest wins: a pending inspection or refinement the user has moved on from is dropped.
        const auto index = job.index();
        auto &q = m_state->queue;
        for (auto it = q.begin(); it != q.end();)
            it = it->second.index() == index ? q.erase(it) : it + 1;
    }
    m_state->queue.emplace_back(id, std::move(job));
    m_state->wake.notify_all();
    return id;
}

void Engine::cancel(JobId id)
{
    std::lock_guard lock(m_state->mutex);
    // A queued job is only marked: the worker reports its JobCancelled when it reaches it, so
    // every submitted job ends with an event, and the sink stays on the worker thread.
    for (const auto &queued : m_state->queue)
        if (queued.first == id) {
            m_state->cancelledQueued.insert(id);
            return;
        }
    if (m_state->runningId == id && m_state->runningToken)
        m_state->runningToken->cancel();
}

void Engine::State::run()
{
    for (;;) {
        std::pair<JobId, Job> next;
        std::shared_ptr<CancelToken> token;
        {
            std::unique_lock lock(mutex);
            wake.wait(lock, [&] { return stop || !queue.empty(); });
            if (stop)
                return;
            next = std::move(queue.front());
            queue.pop_front();
            token = std::make_shared<CancelToken>();
            runningId = next.first;
            runningToken = token;
            if (cancelledQueued.erase(next.first) > 0)
                token->cancel();
        }
        const JobId id = next.first;
        try {
            if (token->cancelled())
                throw Cancelled{};
            execute(id, next.second, *token);
            sink(JobFinished{id});
        } catch (const Cancelled &) {
            sink(JobCancelled{id});
        } catch (const c10::Error &e) {
            sink(JobFailed{id, e.what_without_backtrace()});
        } catch (const std::exception &e) {
            sink(JobFailed{id, e.what()});
        }
        std::lock_guard lock(mutex);
        runningId = 0;
        runningToken.reset();
    }
}

void Engine::State::execute(JobId id, const Job &job, const CancelToken &token)
{
    if (const auto *load = std::get_if<LoadModelJob>(&job)) {
        sink(JobStarted{id, "Loading " + load->checkpointPath});
        model.reset(); // one model on the device at a time
        checkpointPath.clear();
        device = resolveDevice(load->device);
        model = loadCheckpoint(load->checkpointPath, device);
        checkpointPath = load->checkpointPath;
        const auto cfg = model->method->backboneInfo();
        ModelInfo info;
        info.checkpointPath = load->checkpointPath;
        info.method = model->header.method;
        info.backbone = model->header.backbone;
        info.device = device.str();
        info.classNames = model->header.labelMap.names();
        info.inputSize = model->header.inputSize;
        info.patchSize = cfg.stride;
        info.layers = cfg.depth;
        info.heads = cfg.heads;
        info.step = model->header.step;
        if (const auto it = model->header.metrics.find("best_bg_threshold");
            it != model->header.metrics.end() && it->is_number())
            info.bestBgThreshold = it->get<double>();
        sink(ModelLoaded{id, info});
        return;
    }
    if (const auto *inspect = std::get_if<InspectJob>(&job)) {
        if (!model)
            throw wsss::Error("inspect \"" + inspect->imageId + "\": no model is loaded (open a checkpoint first)");
        sink(JobStarted{id, "Inspecting " + inspect->imageId});
        const cv::Mat rgb = vision::readImageRgb(inspect->imagePath);
        if (token.cancelled())
            throw Cancelled{};
        auto output = inferImage(*model, rgb, true, device, inspect->labels);
        sink(InspectionReady{id, makeInspection(*model, output, rgb, inspect->imageId, inspect->labels)});
        return;
    }
    if (const auto *eval = std::get_if<EvaluateJob>(&job)) {
        evaluate(id, *eval, token);
        return;
    }
    if (const auto *refine = std::get_if<RefineJob>(&job)) {
        if (!refine->inspection)
            throw wsss::Error("refine: no inspection to refine");
        sink(JobStarted{id, "Refining " + refine->inspection->imageId});
        sink(RefinementReady{id, refineInspection(*refine->inspection, refine->mapKind, refine->rule, device)});
        return;
    }
    if (const auto *infer = std::get_if<InferDatasetJob>(&job)) {
        inferDataset(id, *infer, token);
        return;
    }
}

void Engine::State::inferDataset(JobId id, const InferDatasetJob &job, const CancelToken &token)
{
    if (!model)
        throw wsss::Error("pseudo-masks for \"" + job.dataRoot + "\": no model is loaded (open a checkpoint first)");
    if (job.out.empty())
        throw wsss::Error("pseudo-masks for \"" + job.dataRoot + "\": no output folder");
    sink(JobStarted{id, "Writing pseudo-masks of " + job.split + " to " + job.out});
    DatasetInferenceOptions options;
    options.checkpoint = checkpointPath;
    options.data = job.dataRoot;
    options.split = job.split;
    options.out = job.out;
    options.rule = toPseudoLabelRule(job.rule);
    options.map = job.mapKind;
    DatasetInferenceCallbacks callbacks;
    callbacks.warning = [&](const std::string &message) { sink(JobLog{id, message}); };
    callbacks.progress = [&](std::int64_t done, std::int64_t total, const std::string &imageId) {
        sink(JobProgress{id, done, total, "Pseudo-mask " + std::to_string(done) + "/" + std::to_string(total) + ": " + imageId});
    };
    callbacks.stopRequested = [&] { return token.cancelled(); };
    try {
        const auto result = wsss::training::inferDataset(*model, device, options, callbacks);
        sink(DatasetInferred{id, job.out, result.written, result.total, result.complete});
        if (!result.complete)
            throw Cancelled{};
    } catch (const Cancelled &) {
        throw;
    } catch (const c10::Error &e) {
        throw wsss::Error(std::string(e.what_without_backtrace()) + " (masks already written to \"" + job.out + "\" are kept)");
    } catch (const std::exception &e) {
        // Per-image failures are skipped inside; this is the split, the map or the folder.
        throw wsss::Error(std::string(e.what()) + " (masks already written to \"" + job.out + "\" are kept)");
    }
}

// One pass over the split, scoring each image as validation does (scoreImage): the pseudo-mask at the chosen
// threshold feeds the split's and the image's confusion matrices, the maps feed the sweep.
void Engine::State::evaluate(JobId id, const EvaluateJob &job, const CancelToken &token)
{
    if (!model)
        throw wsss::Error("evaluate \"" + job.dataRoot + "\": no model is loaded (open a checkpoint first)");
    if (job.steps < 1)
        throw wsss::Error("evaluate: steps must be at least 1, got " + std::to_string(job.steps));
    sink(JobStarted{id, "Evaluating " + job.split + " of " + job.dataRoot});
    const auto dataset = vision::loadVocDataset(job.dataRoot, job.split);
    for (const auto &w : dataset.warnings)
        sink(JobLog{id, w});
    const int n = model->header.labelMap.size();
    if (dataset.labelMap.size() != n)
        throw wsss::Error("evaluate \"" + job.dataRoot + "\": the dataset has " + std::to_string(dataset.labelMap.size())
                          + " classes, the model " + std::to_string(n));
    const float t = std::clamp(job.bgThreshold, 0.0f, 1.0f);
    const bool sweeps = !model->method->predictsBackground();
    vision::ConfusionMatrix total(n);
    vision::ThresholdSweep sweep(n, job.steps);

    auto result = std::make_shared<EvaluationResult>();
    result->dataRoot = job.dataRoot;
    result->split = job.split;
    result->classNames = model->header.labelMap.names();
    result->threshold = t;
    const auto count = static_cast<std::int64_t>(dataset.items.size());
    for (std::int64_t i = 0; i < count; ++i) {
        if (token.cancelled())
            throw Cancelled{};
        const auto &item = dataset.items[static_cast<size_t>(i)];
        sink(JobProgress{id, i, count, "Evaluating " + item.id});
        if (item.maskPath.empty()) {
            ++result->skipped;
            continue;
        }
        try {
            vision::ConfusionMatrix image(n);
            std::vector<float> scores;
            scoreImage(*model, item, device, t, image, sweeps ? &sweep : nullptr, &scores);
            total.merge(image);
            result->images.push_back({item.id, image.scores().miou, std::move(scores)});
        } catch (const Cancelled &) {
            throw;
        } catch (const std::exception &e) {
            ++result->skipped;
            sink(JobLog{id, std::string(e.what()) + " (not scored)"});
        }
    }
    if (result->images.empty())
        throw wsss::Error("evaluate: no image of \"" + job.dataRoot + "\" split \"" + job.split
                          + "\" has a ground-truth mask that could be scored");
    const auto s = total.scores();
    result->miou = s.miou;
    result->meanFpr = s.meanFpr;
    result->meanFnr = s.meanFnr;
    result->iou = s.iou;
    result->fpr = s.fpr;
    result->fnr = s.fnr;
    if (sweeps) {
        result->sweepMiou = sweep.mious();
        result->bestIndex = vision::ThresholdSweep::bestIndex(result->sweepMiou);
        for (int i = 0; i < static_cast<int>(result->sweepMiou.size()); ++i)
            result->thresholds.push_back(sweep.threshold(i));
    }
    sink(JobProgress{id, count, count, "Evaluated " + std::to_string(result->images.size()) + " images"});
    sink(EvaluationReady{id, std::move(result)});
}

} // namespace wsss::training
