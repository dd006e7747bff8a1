#include "training/engine/engine.h"

#include "training/checkpoint/checkpoint.h"
#include "training/engine/cancel_token.h"
#include "training/methods/inference.h"
#include "vision/core/error.h"
#include "vision/io/image_io.h"

#include <c10/util/Exception.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
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
    bool stop = false;
    std::thread worker;

    // Owned by the worker thread only.
    std::optional<LoadedModel> model;
    torch::Device device{torch::kCPU};

    void run();
    void execute(JobId id, const Job &job, const CancelToken &token);
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
    if (std::holds_alternative<InspectJob>(job)) {
        // Latest wins: a pending inspection the user has moved on from is dropped.
        auto &q = m_state->queue;
        for (auto it = q.begin(); it != q.end();)
            it = std::holds_alternative<InspectJob>(it->second) ? q.erase(it) : it + 1;
    }
    m_state->queue.emplace_back(id, std::move(job));
    m_state->wake.notify_all();
    return id;
}

void Engine::cancel(JobId id)
{
    std::lock_guard lock(m_state->mutex);
    auto &q = m_state->queue;
    for (auto it = q.begin(); it != q.end(); ++it)
        if (it->first == id) {
            q.erase(it);
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
        }
        const JobId id = next.first;
        try {
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
        device = resolveDevice(load->device);
        model = loadCheckpoint(load->checkpointPath, device);
        const auto &cfg = model->method->backbone()->config();
        ModelInfo info;
        info.checkpointPath = load->checkpointPath;
        info.method = model->header.method;
        info.backbone = model->header.backbone;
        info.device = device.str();
        info.classNames = model->header.labelMap.names();
        info.inputSize = model->header.inputSize;
        info.patchSize = cfg.patchSize;
        info.layers = cfg.depth;
        info.heads = cfg.heads;
        info.step = model->header.step;
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
        auto output = inferImage(*model, rgb, true, device);
        sink(InspectionReady{id, makeInspection(*model, output, rgb, inspect->imageId, inspect->labels)});
        return;
    }
}

} // namespace wsss::training
