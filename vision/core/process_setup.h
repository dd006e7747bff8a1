#pragma once
// The start-up every program of the project shares (wsss, wsss-studio, the tests, the
// benchmarks), so a benchmark measures what a user runs: OpenMP threads that stop spinning soon
// when they wait (below), OpenBLAS's fastest kernels for this CPU (blas_kernels.h), then large
// tensors on huge pages (cpu_memory.h). The first two are environment variables that count only
// when the process starts with them, so this may run the program again, once.
//
// Why the spin limit: LibTorch's and OpenBLAS's parallel regions are one OpenMP team (sized by
// at::set_num_threads) that meets at a barrier after each region, and libgomp's threads by
// default spin 300,000 times there before they sleep. On an idle machine that saves a wake-up; on
// a busy one (another training, a compile: every user's machine) a spinning thread burns the time
// slice its team mate needs to reach the barrier, and a ViT-S/16 forward ran 70-90× slower than
// idle. 3,000 spins (tens of µs) still bridge the gap between two regions of one forward, so the
// idle times stay; sleeping at once (OMP_WAIT_POLICY=passive) cost 15-40 % idle. A user's own
// GOMP_SPINCOUNT or OMP_WAIT_POLICY is kept. README "Speed" has the measurements.
namespace wsss::vision {

// First thing in main(), before any tensor exists.
void prepareProcess(char **argv);

} // namespace wsss::vision
