#pragma once
// OpenBLAS chooses its matrix kernels from the CPU's model number when the library loads, and
// falls back to its oldest set (Prescott, SSE3) for a model it does not know, such as a virtual
// "Intel Xeon Processor" that has AVX-512: every matrix product of LibTorch then runs about 3×
// slower. Only OPENBLAS_CORETYPE in the environment before the process starts changes the choice.
#include <string>

namespace wsss::vision {

// The kernel set OpenBLAS is using ("Prescott", "Haswell", "SkylakeX", …); "" when LibTorch's BLAS
// is not OpenBLAS.
std::string blasCoreName();

// The fastest OpenBLAS kernel set this CPU can run ("SkylakeX", "Haswell"), "" when none of those.
std::string fastestBlasCoreForThisCpu();

// Whether `current` (an OpenBLAS core name) is an older kernel set than `fastest`; false for names
// it does not know, so an unfamiliar choice of OpenBLAS is left alone.
bool isSlowerBlasCore(const std::string &current, const std::string &fastest);

// First thing in main(): when OpenBLAS fell back to older kernels than this CPU runs and the user
// has not set OPENBLAS_CORETYPE, sets it and runs the program again with the same arguments
// (execv of /proc/self/exe; nothing has happened yet). Returns when there is nothing to gain or
// the re-execution fails, in which case the program simply runs with the slower kernels.
void useFastestBlasKernels(char **argv);

} // namespace wsss::vision
