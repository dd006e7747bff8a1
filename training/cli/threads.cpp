#include "training/cli/verbs.h"
#include "vision/core/thread_budget.h"

#include <ATen/Parallel.h>

namespace wsss::training {

void configureThreads()
{
    static bool done = false; // LibTorch's intra-op pool is sized once per process
    if (done)
        return;
    done = true;
    at::set_num_threads(vision::programThreads());
}

} // namespace wsss::training
