#include "vision/core/process_setup.h"

#include "vision/core/blas_kernels.h"
#include "vision/core/cpu_memory.h"

#include <unistd.h>

#include <cstdlib>

namespace wsss::vision {

void prepareProcess(char **argv)
{
    // libgomp reads its spin count when it loads, before main(): set here, it counts for the
    // process started again below (or by useFastestBlasKernels, which keeps the environment).
    // Only when the user set neither variable and there is a team to wait for (the restart
    // costs a second load of LibTorch, ~0.4 s); the second start finds it set, so the program
    // runs again once at most.
    bool restart = false;
    if (!std::getenv("GOMP_SPINCOUNT") && !std::getenv("OMP_WAIT_POLICY") && sysconf(_SC_NPROCESSORS_ONLN) > 1)
        restart = setenv("GOMP_SPINCOUNT", "3000", 1) == 0;
    useFastestBlasKernels(argv); // returns only when it did not run the program again
    if (restart) {
        execv("/proc/self/exe", argv);
        unsetenv("GOMP_SPINCOUNT"); // execv failed: carry on with libgomp's default spinning
    }
    useHugePagesForLargeTensors();
}

} // namespace wsss::vision
