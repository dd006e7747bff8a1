#pragma once
// A flag a long job polls between steps; set from another thread to stop it.
#include <atomic>

namespace wsss::training {

class CancelToken {
public:
    void cancel() { m_cancelled.store(true); }
    bool cancelled() const { return m_cancelled.load(); }

private:
    std::atomic<bool> m_cancelled{false};
};

// Thrown by a job that saw its token set; the engine reports JobCancelled.
struct Cancelled {};

} // namespace wsss::training
