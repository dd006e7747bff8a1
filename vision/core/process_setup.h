#pragma once
// The start-up every program of the project shares (wsss, wsss-studio, the benchmarks), so a
// benchmark measures what a user runs: OpenBLAS's fastest kernels for this CPU (blas_kernels.h;
// this may run the program again), then large tensors on huge pages (cpu_memory.h).
namespace wsss::vision {

// First thing in main(), before any tensor exists.
void prepareProcess(char **argv);

} // namespace wsss::vision
