#include "vision/core/thread_budget.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include <unistd.h>

namespace wsss::vision {

namespace {

// procs_running of /proc/stat: every runnable thread of the machine, this one included.
int machineRunning()
{
    std::ifstream stat("/proc/stat");
    for (std::string key; stat >> key;) {
        if (key == "procs_running") {
            int n = -1;
            stat >> n;
            return n;
        }
        stat.ignore(1 << 20, '\n');
    }
    return -1;
}

struct TaskState {
    char state = '?';
    int nice = 0;
    unsigned long flags = 0;
};

constexpr unsigned long kKernelThread = 0x00200000; // PF_KTHREAD: the kernel's own short jobs

// State and nice value of one thread, from its /proc/…/stat line.
bool readTask(const std::filesystem::path &stat, TaskState &task)
{
    std::ifstream in(stat);
    std::string line;
    if (!std::getline(in, line))
        return false;
    const auto close = line.rfind(')'); // the name may hold spaces and parentheses
    if (close == std::string::npos)
        return false;
    std::istringstream fields(line.substr(close + 1));
    std::string field;
    for (int i = 0; i <= 16 && fields >> field; ++i) { // fields 3 (state) to 19 (nice)
        if (i == 0)
            task.state = field.empty() ? '?' : field[0];
        else if (i == 6)
            task.flags = std::strtoul(field.c_str(), nullptr, 10);
        else if (i == 16)
            task.nice = std::atoi(field.c_str());
    }
    return true;
}

// This process's threads in state R (running or runnable), the caller among them.
int ownRunning()
{
    int running = 0;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
        TaskState task;
        if (readTask(entry.path() / "stat", task) && task.state == 'R')
            ++running;
    }
    return ec ? -1 : running;
}

bool autogroupsOn()
{
    std::ifstream in("/proc/sys/kernel/sched_autogroup_enabled");
    int on = 0;
    return (in >> on) && on == 1;
}

// The cpu cgroup of a process, "/" for the root one. cgroup v1 names the controller ("1:cpu:/x",
// "2:cpu,cpuacct:/x"); under v2 alone ("0::/x") the path is a cpu group only where the root
// hands the cpu controller down.
std::optional<std::string> cpuCgroup(const std::filesystem::path &file)
{
    std::ifstream in(file);
    if (!in)
        return std::nullopt;
    std::optional<std::string> unified;
    for (std::string line; std::getline(in, line);) {
        const auto first = line.find(':');
        const auto second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos)
            continue;
        const std::string controllers = "," + line.substr(first + 1, second - first - 1) + ",";
        const std::string path = line.substr(second + 1);
        if (controllers.find(",cpu,") != std::string::npos)
            return path;
        if (controllers == ",,")
            unified = path;
    }
    if (!unified)
        return std::string("/");
    std::ifstream control("/sys/fs/cgroup/cgroup.subtree_control");
    for (std::string word; control >> word;)
        if (word == "cpu")
            return unified;
    return std::string("/");
}

// How a cpu cgroup's name starts (SchedGroup::name), written by schedGroupOf, read by describe.
constexpr std::string_view kCgroupPrefix = "cgroup ";

} // namespace

std::optional<SchedGroup> schedGroupOf(const std::filesystem::path &process)
{
    const auto cgroup = cpuCgroup(process / "cgroup");
    if (cgroup && *cgroup != "/")
        return SchedGroup{std::string(kCgroupPrefix) + *cgroup, 0};
    if (!autogroupsOn())
        return SchedGroup{};
    std::ifstream in(process / "autogroup");
    if (!in)
        return std::nullopt;
    std::string name, word;
    int nice = 0;
    if (in >> name >> word >> nice && word == "nice")
        return SchedGroup{name, nice};
    return SchedGroup{}; // an empty file: the root group, where the processes init started stay
}

std::string describe(const SchedGroup &group)
{
    if (group.name.empty())
        return "the root group";
    if (group.name.rfind(kCgroupPrefix, 0) == 0)
        return "cpu " + group.name;
    return "autogroup " + group.name + ", nice " + std::to_string(group.nice);
}

bool leavesTheCore(const SchedGroup &ours, int ownNice, const SchedGroup &theirs, int theirNice)
{
    if (ours.name == theirs.name)
        return theirNice >= ownNice + 10;
    // Across groups each side weighs as its group does; a thread of the root group as itself.
    const int theirWeight = theirs.name.empty() ? theirNice : theirs.nice;
    const int ourWeight = ours.name.empty() ? ownNice : ours.nice;
    return theirWeight >= ourWeight + 10;
}

namespace {

// Runnable threads of other processes that compete with this one. A background job niced 10 or
// more below this process gets under a tenth of a core's time beside one of ours, so it leaves the
// core to us and is not counted, nor are the kernel's own short jobs. Its nice weighs only inside
// its scheduling group (leavesTheCore): `nice wsss train` in another terminal is its autogroup's
// one job, with the group's weight (nice 0 unless the whole group is niced), and beside it a team
// of two of our threads ran a `cam` training step in 1073 ms against 777 ms with one.
int competingOthers()
{
    TaskState self;
    readTask("/proc/self/stat", self);
    const std::string ownPid = std::to_string(getpid());
    const std::optional<SchedGroup> ownGroup = schedGroupOf("/proc/self");
    int count = 0;
    std::error_code ec;
    for (const auto &process : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string pid = process.path().filename().string();
        if (pid.empty() || !std::isdigit(static_cast<unsigned char>(pid[0])) || pid == ownPid)
            continue;
        std::optional<std::optional<SchedGroup>> group; // read once per process, only for a niced thread
        std::error_code taskError;
        for (const auto &thread : std::filesystem::directory_iterator(process.path() / "task", taskError)) {
            TaskState task;
            if (!readTask(thread.path() / "stat", task) || task.state != 'R' || (task.flags & kKernelThread))
                continue;
            bool background = task.nice >= self.nice + 10;
            if (background && ownGroup) {
                if (!group)
                    group = schedGroupOf(process.path());
                // A group that cannot be read is taken as ours: its nice weighs, as without groups.
                background = !*group || leavesTheCore(*ownGroup, self.nice, **group, task.nice);
            }
            if (!background)
                ++count;
        }
    }
    return ec ? -1 : count;
}

} // namespace

int userThreads()
{
    const char *env = std::getenv("WSSS_THREADS");
    return env ? std::max(0, std::atoi(env)) : 0;
}

int programThreads()
{
    const int fixed = userThreads();
    return fixed > 0 ? fixed : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

int parallelLoopThreads()
{
    // One chunk per thread LibTorch would use; each records the thread that ran it.
    const int threads = at::get_num_threads();
    std::mutex mutex;
    std::set<std::thread::id> seen;
    at::parallel_for(0, threads, 1, [&](std::int64_t, std::int64_t) {
        const std::lock_guard<std::mutex> lock(mutex);
        seen.insert(std::this_thread::get_id());
    });
    return static_cast<int>(seen.size());
}

int othersRunning()
{
    // The kernel's count first (cheap); the median of three looks, as one can land on a compiler's
    // short-lived process. Only when others run are their threads read, for their nice values.
    std::array<int, 3> looks{};
    for (int &look : looks) {
        const int all = machineRunning(), own = ownRunning();
        if (all < 0 || own < 0)
            return -1;
        look = std::max(0, all - own);
    }
    std::sort(looks.begin(), looks.end());
    return looks[1] == 0 ? 0 : competingOthers();
}

ThreadBudget::ThreadBudget(int most)
    : m_most(std::max(1, most)), m_current(m_most), m_adapts(m_most > 1 && userThreads() == 0 && machineRunning() >= 0)
{
}

ThreadBudget::~ThreadBudget()
{
    if (m_current != m_most)
        at::set_num_threads(m_most);
}

int ThreadBudget::adapt()
{
    if (!m_adapts)
        return m_current;
    using Clock = std::chrono::steady_clock;
    const auto now = Clock::now();
    if (m_nextLook != Clock::time_point{} && now < m_nextLook)
        return m_current;
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    const int others = othersRunning();
    // Reading every thread's state costs 1.5 ms among 70 threads and more on a desktop: the looks
    // are spaced so that they take at most 2 % of the time, and at least 100 ms apart.
    m_nextLook = now + std::max<Clock::duration>(std::chrono::milliseconds(100), 50 * (Clock::now() - now));
    const int threads = others < 0 ? m_most : std::clamp(cores - others, 1, m_most);
    if (threads != m_current) {
        at::set_num_threads(threads);
        m_current = threads;
    }
    return m_current;
}

} // namespace wsss::vision
