// `wsss info`: what this build runs on, for bug reports and for checking a server before a long
// run: LibTorch, CPU threads and what the thread budget sees, the BLAS kernels in use, CUDA devices.
#include "training/cli/verbs.h"
#include "vision/core/blas_kernels.h"
#include "vision/core/precision.h"
#include "vision/core/thread_budget.h"

#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cstdio>
#include <string>

namespace wsss::training {

void addInfoVerb(CLI::App &app)
{
    auto *verb = app.add_subcommand("info", "Show the LibTorch version, CPU threads, BLAS kernels and CUDA devices");
    verb->callback([] {
        configureThreads();
        std::printf("wsss %s\n", WSSS_VERSION);
        std::printf("libtorch: %s\n", TORCH_VERSION);
        const int threads = at::get_num_threads(), looping = vision::parallelLoopThreads();
        if (looping == threads)
            std::printf("cpu threads: %d\n", threads);
        else // a build without OpenMP: LibTorch's own kernels use the threads, the core's loops do not
            std::printf("cpu threads: %d (the core's own loops: %d)\n", threads, looping);
        // Why a run may use fewer threads than the cores: the budget and what it sees now.
        if (vision::userThreads() > 0) {
            std::printf("thread budget: fixed by WSSS_THREADS=%d\n", vision::userThreads());
        } else {
            const auto group = vision::schedGroupOf("/proc/self");
            const std::string where = group ? vision::describe(*group) : "unknown";
            std::printf("thread budget: follows the load (other programs' threads competing now: %d; scheduling "
                        "group: %s)\n",
                        vision::othersRunning(), where.c_str());
        }
        const std::string core = vision::blasCoreName(), fastest = vision::fastestBlasCoreForThisCpu();
        if (core.empty())
            std::printf("blas: not OpenBLAS\n");
        else if (vision::isSlowerBlasCore(core, fastest))
            std::printf("blas: OpenBLAS %s (slower than this CPU's %s: OPENBLAS_CORETYPE=%s)\n", core.c_str(),
                        fastest.c_str(), fastest.c_str());
        else
            std::printf("blas: OpenBLAS %s\n", core.c_str());
        std::printf("bf16 on the cpu: %s\n", vision::cpuHasBf16Products()
                                                  ? "in hardware (--precision bf16 is about twice as fast)"
                                                  : "emulated (--precision bf16 is slower than fp32 here)");
        const auto devices = torch::cuda::is_available() ? torch::cuda::device_count() : 0;
        if (devices > 0)
            std::printf("cuda: %zu device(s)\n", static_cast<std::size_t>(devices));
        else
            std::printf("cuda: not available\n");
    });
}

} // namespace wsss::training
