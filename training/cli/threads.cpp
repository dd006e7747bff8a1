#include "training/cli/verbs.h"

#include <ATen/Parallel.h>

#include <cstdlib>
#include <thread>

namespace wsss::training {

void configureThreads()
{
    static bool done = false; // LibTorch's intra-op pool is sized once per process
    if (done)
        return;
    done = true;
    int threads = static_cast<int>(std::thread::hardware_concurrency());
    if (const char *env = std::getenv("WSSS_THREADS"); env && std::atoi(env) > 0)
        threads = std::atoi(env);
    at::set_num_threads(std::max(1, threads));
}

} // namespace wsss::training
