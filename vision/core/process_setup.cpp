#include "vision/core/process_setup.h"

#include "vision/core/blas_kernels.h"
#include "vision/core/cpu_memory.h"

namespace wsss::vision {

void prepareProcess(char **argv)
{
    useFastestBlasKernels(argv);
    useHugePagesForLargeTensors();
}

} // namespace wsss::vision
