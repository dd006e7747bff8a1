#pragma once
// WSSS_VECTOR_CLONES: compile a hot loop twice, for x86-64-v3 (AVX2 + FMA) and for the baseline
// the package targets, and pick at load time. The distribution build stays generic x86-64, yet
// the refinement loops (PAR, the CRF's lattice) run 8 floats wide with fused multiply-adds on the
// CPUs that have them.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define WSSS_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define WSSS_VECTOR_CLONES
#endif
