#pragma once
// LibTorch's intra-op threads, fitted to the cores other programs leave free. The project's
// programs use every core (or WSSS_THREADS), which is fastest on an idle machine; beside another
// busy program, a team of two threads on two shared cores waits at each parallel region's
// barrier for the mate the scheduler put aside, and a forward of many small regions (the demo
// backbone at batch 1) ran 37 ms against 21 ms with one thread. So before each piece of work (a
// training step, an image's inference) the count is set to the free cores, at least 1 and at
// most what the program was given; background jobs niced well below this program where that nice
// weighs (in its own scheduling group, or in a group niced as a whole) do not count.
// A count the user fixed with WSSS_THREADS is left alone.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace wsss::vision {

// The count the user fixed with WSSS_THREADS (a positive number), else 0.
int userThreads();
// The threads a program uses when nothing else is known: WSSS_THREADS, else every core.
int programThreads();

// The threads one of the core's parallel loops (at::parallel_for) runs on now: at::get_num_threads()
// where the core was built with OpenMP, 1 where its loops were compiled serial (`wsss info`).
int parallelLoopThreads();

// Threads of other processes that are running or runnable now and compete with this one for a
// core (not niced 10 or more below it where that nice weighs: see competingOthers). -1 where the
// platform does not say (no /proc).
int othersRunning();

// The group the scheduler shares the cores between first (kernel/sched/autogroup.c): a process in
// a cpu cgroup of its own is weighed in it; else, where autogroups are on, in its session's
// autogroup, whose nice is set for the group as a whole; else in the root group, where each
// thread weighs by its own nice.
struct SchedGroup {
    std::string name; // "cgroup /x", "/autogroup-38", or "" for the root group
    int nice = 0;     // an autogroup's nice; 0 for the others
};
// The group of the process whose /proc folder is given ("/proc/self"); nullopt where it cannot be
// read.
std::optional<SchedGroup> schedGroupOf(const std::filesystem::path &process);
// For a user: "the root group", "cpu cgroup /x" or "autogroup /autogroup-38, nice 0".
std::string describe(const SchedGroup &group);
// Whether a thread niced theirNice in group theirs leaves a core to ours (niced ownNice, in group
// ours): it gets under a tenth of the core beside us, its weight 10 or more nice steps below.
bool leavesTheCore(const SchedGroup &ours, int ownNice, const SchedGroup &theirs, int theirNice);

class ThreadBudget {
public:
    // most: the threads the program may use (at::get_num_threads() when it starts its work);
    // restored when the budget ends.
    explicit ThreadBudget(int most);
    ~ThreadBudget();
    ThreadBudget(const ThreadBudget &) = delete;
    ThreadBudget &operator=(const ThreadBudget &) = delete;

    // Before a piece of work: sets LibTorch's threads to the free cores (1 … most) and returns
    // them. Looks at the machine at most every 100 ms (longer where a look is slow, so looking
    // takes under 2 % of the time); between looks it keeps its last answer.
    int adapt();

    int most() const { return m_most; }
    // False when WSSS_THREADS fixed the count (or there is no /proc): adapt() keeps `most`.
    bool adapts() const { return m_adapts; }

private:
    int m_most;
    int m_current;
    bool m_adapts;
    std::chrono::steady_clock::time_point m_nextLook{};
};

} // namespace wsss::vision
