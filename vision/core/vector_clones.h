#pragma once
// WSSS_VECTOR_CLONES: compile a hot loop twice, for AVX2 and for the baseline the package
// targets, and pick at load time. The distribution build stays generic x86-64, yet the
// refinement loops (PAR, the CRF's lattice) run 8 floats wide on the CPUs that have AVX2. No FMA:
// both paths round the same way, so a pseudo-label is the same on every machine.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define WSSS_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WSSS_VECTOR_CLONES
#endif
