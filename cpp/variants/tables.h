// The kernel tables of the fast variants, each compiled in its own translation
// unit (baseline.cpp, avx2.cpp, avx512.cpp) so that a build compiles them side
// by side; dispatch.cpp lists them and picks one.
#pragma once

#include "dispatch.h"

// The AVX2 and AVX-512 variants need GCC/Clang target attributes and x86-64;
// sanitized builds (PLAINNET_BASELINE_ONLY) leave them out.
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && \
    !defined(PLAINNET_BASELINE_ONLY)
#define PLAINNET_X86_DISPATCH 1
#endif

namespace plainnet {

// Any x86-64 (SSE2) or, on other machines, whatever the compiler targets.
namespace variant_baseline {
extern const Kernels<double> table_d;
extern const Kernels<float> table_f;
}  // namespace variant_baseline

#if PLAINNET_X86_DISPATCH
// x86-64-v3: AVX2 + FMA.
namespace variant_avx2 {
extern const Kernels<double> table_d;
extern const Kernels<float> table_f;
}  // namespace variant_avx2
// x86-64-v4: AVX-512.
namespace variant_avx512 {
extern const Kernels<double> table_d;
extern const Kernels<float> table_f;
}  // namespace variant_avx512
#endif

}  // namespace plainnet
