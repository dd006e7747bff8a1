#pragma once
// Engine: one worker thread with a job queue; the only owner of the model. Jobs go in through
// submit(), events come out through the sink (called on the worker thread). Every exception a
// job throws becomes a JobFailed event; the worker stays up for the next job.
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
    void cancel(JobId id);

private:
    struct State;
    std::unique_ptr<State> m_state;
};

} // namespace wsss::training
