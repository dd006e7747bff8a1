#pragma once
// Engine: one worker thread with a job queue; the only owner of the model. Jobs go in through
// submit(), events come out through the sink (called on the worker thread). Every submitted job
// ends with exactly one of JobFinished, JobFailed, JobCancelled or JobReplaced (jobs still queued
// when the engine is destroyed excepted). Every exception a job throws becomes a JobFailed
// event; the worker stays up for the next job. While a train job runs, the worker uses one core
// fewer than the machine has, so the GUI keeps one.
#include "training/engine/events.h"
#include "training/engine/job.h"

#include <functional>
#include <memory>

namespace wsss::training {

class Engine {
public:
    using Sink = std::function<void(const Event &)>;

    explicit Engine(Sink sink);
    ~Engine(); // cancels what is queued or running and joins the worker
    Engine(const Engine &) = delete;
    Engine &operator=(const Engine &) = delete;

    JobId submit(Job job);
    // A queued job ends with JobCancelled when the worker reaches it; a running one stops at its
    // next check (a train job: after saving the step reached).
    void cancel(JobId id);
    // A train job stops between two steps until resume(); jobs that may interleave with training
    // (load, inspect, refine) still run meanwhile. Either reports TrainingPaused when it takes effect.
    void pause(JobId id);
    void resume(JobId id);

private:
    struct State;
    std::unique_ptr<State> m_state;
};

} // namespace wsss::training
