#include "training/engine/engine.h"

#include "training/checkpoint/checkpoint.h"
#include "training/engine/cancel_token.h"
#include "training/export/dataset_inference.h"
#include "training/export/project_export.h"
#include "training/loop/trainer.h"
#include "training/loop/validation.h"
#include "training/methods/inference.h"
#include "vision/core/error.h"
#include "vision/core/thread_budget.h"
#include "vision/io/image_io.h"
#include "vision/io/voc_reader.h"
#include "vision/metrics/confusion_matrix.h"

#include <c10/util/Exception.h>

#include <ATen/Parallel.h>
#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace wsss::training {

namespace {

// Jobs cheap enough to run between two training steps, on the inspection model (not the one
// training): the studio stays usable while a run trains.
bool interleavesWithTraining(const Job &job)
{
    return std::holds_alternative<LoadModelJob>(job) || std::holds_alternative<InspectJob>(job) ||
           std::holds_alternative<RefineJob>(job);
}

bool latestWins(const Job &job)
{
    return std::holds_alternative<InspectJob>(job) || std::holds_alternative<RefineJob>(job);
}

// While a train job runs, LibTorch's intra-op threads on this thread number one fewer than the
// cores (or $WSSS_THREADS), so the GUI thread keeps a core for painting and input.
class TrainingThreads {
public:
    TrainingThreads() : m_before(at::get_num_threads())
    {
        const int fixed = vision::userThreads();
        at::set_num_threads(fixed > 0 ? fixed : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1));
    }
    ~TrainingThreads() { at::set_num_threads(m_before); }
    TrainingThreads(const TrainingThreads &) = delete;
    TrainingThreads &operator=(const TrainingThreads &) = delete;

private:
    int m_before;
};

} // namespace

struct Engine::State {
    struct Popped {
        JobId id = 0;
        Job job;
        std::shared_ptr<CancelToken> token;
        JobId replacedBy = 0;
    };

    Sink sink;
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::pair<JobId, Job>> queue;
    JobId nextId = 1;
    // The job the worker runs, and the one it runs between two of a train job's steps.
    JobId runningId = 0, nestedId = 0;
    std::shared_ptr<CancelToken> runningToken, nestedToken;
    std::set<JobId> cancelledQueued;       // cancelled before they started
    std::map<JobId, JobId> replacedQueued; // latest-wins jobs a newer one replaced → that one
    std::set<JobId> pausedJobs;
    bool stop = false;
    std::thread worker;

    // Owned by the worker thread only.
    std::optional<LoadedModel> model;
    std::string checkpointPath;
    torch::Device device{torch::kCPU};

    void run();
    Popped take(std::deque<std::pair<JobId, Job>>::iterator it); // under the mutex
    void finish(const Popped &job);
    void execute(JobId id, const Job &job, const CancelToken &token);
    void evaluate(JobId id, const EvaluateJob &job, const CancelToken &token);
    void inferDataset(JobId id, const InferDatasetJob &job, const CancelToken &token);
    void exportProject(JobId id, const ExportProjectJob &job, const CancelToken &token);
    void trainRun(JobId id, const TrainJob &job, const CancelToken &token);
    void betweenSteps(JobId id, std::int64_t step, const CancelToken &token);
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
        for (const auto &token : {m_state->runningToken, m_state->nestedToken})
            if (token)
                token->cancel();
    }
    m_state->wake.notify_all();
    m_state->worker.join();
}

JobId Engine::submit(Job job)
{
    std::lock_guard lock(m_state->mutex);
    const JobId id = m_state->nextId++;
    if (latestWins(job)) {
        // Latest wins: a pending inspection or refinement the user has moved on from is replaced by
        // this newest one; the worker reports its JobReplaced when it reaches it.
        for (const auto &[queuedId, queued] : m_state->queue)
            if (queued.index() == job.index())
                m_state->replacedQueued[queuedId] = id;
    }
    m_state->queue.emplace_back(id, std::move(job));
    m_state->wake.notify_all();
    return id;
}

void Engine::cancel(JobId id)
{
    {
        std::lock_guard lock(m_state->mutex);
        // A queued job is only marked: the worker reports its JobCancelled when it reaches it, so
        // every submitted job ends with an event, and the sink stays on the worker thread.
        bool queued = false;
        for (const auto &entry : m_state->queue)
            queued = queued || entry.first == id;
        if (queued)
            m_state->cancelledQueued.insert(id);
        else if (m_state->runningId == id && m_state->runningToken)
            m_state->runningToken->cancel();
        else if (m_state->nestedId == id && m_state->nestedToken)
            m_state->nestedToken->cancel();
    }
    m_state->wake.notify_all(); // a paused train job wakes to stop
}

void Engine::pause(JobId id)
{
    std::lock_guard lock(m_state->mutex);
    m_state->pausedJobs.insert(id);
}

void Engine::resume(JobId id)
{
    {
        std::lock_guard lock(m_state->mutex);
        m_state->pausedJobs.erase(id);
    }
    m_state->wake.notify_all();
}

Engine::State::Popped Engine::State::take(std::deque<std::pair<JobId, Job>>::iterator it)
{
    Popped popped{it->first, std::move(it->second), std::make_shared<CancelToken>(), 0};
    queue.erase(it);
    if (cancelledQueued.erase(popped.id) > 0)
        popped.token->cancel();
    if (const auto r = replacedQueued.find(popped.id); r != replacedQueued.end()) {
        popped.replacedBy = r->second;
        replacedQueued.erase(r);
    }
    return popped;
}

// An allocation failure outside a training step (which says it itself) gets what to change.
static std::string withMemoryAdvice(const std::exception &e, const std::string &message)
{
    if (!isOutOfMemory(e) || message.rfind("train: out of memory", 0) == 0)
        return message;
    return message + " (the device ran out of memory: close other programs or runs that use it, or choose a "
                     "smaller input size)";
}

// Runs a popped job to its one ending event.
void Engine::State::finish(const Popped &job)
{
    if (job.replacedBy != 0) {
        sink(JobReplaced{job.id, job.replacedBy});
        return;
    }
    try {
        if (job.token->cancelled())
            throw Cancelled{};
        vision::ThreadBudget threads(at::get_num_threads()); // fewer while other programs keep the cores busy
        threads.adapt();
        execute(job.id, job.job, *job.token);
        sink(JobFinished{job.id});
    } catch (const Cancelled &) {
        sink(JobCancelled{job.id});
    } catch (const c10::Error &e) {
        sink(JobFailed{job.id, withMemoryAdvice(e, e.what_without_backtrace())});
    } catch (const std::exception &e) {
        sink(JobFailed{job.id, withMemoryAdvice(e, e.what())});
    }
}

void Engine::State::run()
{
    for (;;) {
        Popped next;
        {
            std::unique_lock lock(mutex);
            wake.wait(lock, [&] { return stop || !queue.empty(); });
            if (stop)
                return;
            next = take(queue.begin());
            runningId = next.id;
            runningToken = next.token;
        }
        finish(next);
        std::lock_guard lock(mutex);
        pausedJobs.erase(runningId);
        runningId = 0;
        runningToken.reset();
    }
}

// Called by a train job after each step: runs the interleavable jobs that are queued, and waits
// here while the job is paused (still running those). The CPU generator's state is put back
// after each, so a model built for an inspection does not change the run's random draws.
void Engine::State::betweenSteps(JobId id, std::int64_t step, const CancelToken &token)
{
    bool reportedPaused = false;
    for (;;) {
        std::optional<Popped> nested;
        bool paused = false;
        {
            std::unique_lock lock(mutex);
            paused = pausedJobs.count(id) > 0 && !token.cancelled() && !stop;
            const auto it = std::find_if(queue.begin(), queue.end(),
                                         [](const auto &entry) { return interleavesWithTraining(entry.second); });
            if (it != queue.end()) {
                nested = take(it);
                nestedId = nested->id;
                nestedToken = nested->token;
            } else if (paused && reportedPaused) {
                wake.wait(lock, [&] {
                    return stop || token.cancelled() || !pausedJobs.count(id) ||
                           std::any_of(queue.begin(), queue.end(),
                                       [](const auto &entry) { return interleavesWithTraining(entry.second); });
                });
                continue;
            }
        }
        if (paused != reportedPaused) {
            sink(TrainingPaused{id, paused, step});
            reportedPaused = paused;
        }
        if (nested) {
            auto generator = at::detail::getDefaultCPUGenerator();
            at::Tensor randomState;
            {
                std::lock_guard<std::mutex> lockGenerator(generator.mutex());
                randomState = generator.get_state();
            }
            finish(*nested);
            {
                std::lock_guard<std::mutex> lockGenerator(generator.mutex());
                generator.set_state(randomState);
            }
            std::lock_guard lock(mutex);
            nestedId = 0;
            nestedToken.reset();
            continue;
        }
        if (!paused)
            return;
    }
}

void Engine::State::trainRun(JobId id, const TrainJob &job, const CancelToken &token)
{
    const auto &o = job.options;
    sink(JobStarted{id, (o.resume ? "Resuming the run in " : "Training " + o.method + " in ") + o.out});
    const TrainingThreads threads;
    using Clock = std::chrono::steady_clock;
    auto stepStart = Clock::now();
    double secondsPerStep = 0; // smoothed, over the steps' own time (not pauses or interleaved jobs)
    int timed = 0;

    TrainCallbacks callbacks;
    callbacks.onWarning = [&](const std::string &message) { sink(JobLog{id, message}); };
    callbacks.onStep = [&](const StepLog &log) {
        const double seconds = std::chrono::duration<double>(Clock::now() - stepStart).count();
        secondsPerStep = timed == 0 ? seconds : 0.9 * secondsPerStep + 0.1 * seconds;
        ++timed;
        TrainingStep event{id, log.step, log.total, log.lr, log.losses, 0, 0, log.logs};
        event.stepsPerSecond = secondsPerStep > 0 ? 1.0 / secondsPerStep : 0;
        event.secondsLeft = secondsPerStep * static_cast<double>(log.total - log.step);
        sink(event);
        betweenSteps(id, log.step, token);
        stepStart = Clock::now();
    };
    callbacks.onCheckpoint = [&](std::int64_t step, const std::string &kept) {
        sink(CheckpointSaved{id, kept.empty() ? (std::filesystem::path(o.out) / "checkpoint.wsss").string() : kept, step});
    };
    callbacks.onValidation = [&](std::int64_t step, const std::map<std::string, double> &scores) {
        sink(TrainingValidated{id, step, scores});
        stepStart = Clock::now();
    };
    TrainOptions options = o;
    options.saveOnCancel = true; // the studio's Cancel keeps the steps done
    train(options, callbacks, &token);
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
    if (const auto *trainJob = std::get_if<TrainJob>(&job)) {
        trainRun(id, *trainJob, token);
        return;
    }
    if (const auto *exportJob = std::get_if<ExportProjectJob>(&job)) {
        exportProject(id, *exportJob, token);
        return;
    }
}

void Engine::State::exportProject(JobId id, const ExportProjectJob &job, const CancelToken &token)
{
    ProjectExportOptions options;
    options.out = job.out;
    options.format = exportFormatFromName(job.format);
    options.force = job.force;
    options.projectFile = job.projectFile;
    sink(JobStarted{id, "Exporting the project's masks to " + job.out.string()});
    DatasetInferenceCallbacks callbacks;
    callbacks.warning = [&](const std::string &message) { sink(JobLog{id, message}); };
    callbacks.progress = [&](std::int64_t done, std::int64_t total, const std::string &imageId) {
        sink(JobProgress{id, done, total, "Export " + std::to_string(done) + "/" + std::to_string(total) + ": " + imageId});
    };
    callbacks.stopRequested = [&] { return token.cancelled(); };
    // Its own model: the studio's may be another checkpoint, and must stay loaded.
    const auto result = wsss::training::exportProject(job.project, options, device.str(), callbacks);
    if (!result.complete)
        throw Cancelled{};
    sink(ProjectExported{id, result.out.string(), result.images, static_cast<std::int64_t>(result.corrected.size()),
                         static_cast<std::int64_t>(result.rejected.size())});
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
    options.rule = job.rule;
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
    // Under refinements the scores are those of the refined masks, the sweep's too.
    vision::PseudoLabelRule rule;
    rule.bgThreshold = t;
    rule.parIterations = job.parIterations;
    rule.crf = job.crf;
    rule.crfPreset = job.crfPreset;
    rule.validate(); // an unknown preset fails before the first image, naming the known ones
    std::unique_ptr<vision::RefinedThresholdSweep> refinedSweep;
    if (rule.refines() && sweeps)
        refinedSweep = std::make_unique<vision::RefinedThresholdSweep>(n, rule, vision::RefinedThresholdSweep::defaultStep(rule, job.steps));

    auto result = std::make_shared<EvaluationResult>();
    result->dataRoot = job.dataRoot;
    result->split = job.split;
    result->classNames = model->header.labelMap.names();
    result->threshold = t;
    result->ownBackground = !sweeps;
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
            if (rule.refines())
                scoreImageRefined(*model, item, device, rule, image, refinedSweep.get(), &scores);
            else
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
    if (refinedSweep) {
        result->sweepMiou = refinedSweep->mious();
        result->bestIndex = vision::ThresholdSweep::bestIndex(result->sweepMiou);
        for (const float threshold : refinedSweep->thresholds())
            result->thresholds.push_back(threshold);
    } else if (sweeps) {
        result->sweepMiou = sweep.mious();
        result->bestIndex = vision::ThresholdSweep::bestIndex(result->sweepMiou);
        for (int i = 0; i < static_cast<int>(result->sweepMiou.size()); ++i)
            result->thresholds.push_back(sweep.threshold(i));
    }
    result->parIterations = rule.parIterations;
    result->crf = rule.crf;
    result->crfPreset = rule.crfPreset;
    sink(JobProgress{id, count, count, "Evaluated " + std::to_string(result->images.size()) + " images"});
    sink(EvaluationReady{id, std::move(result)});
}

} // namespace wsss::training
