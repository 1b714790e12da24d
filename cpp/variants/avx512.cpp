// The "avx512" kernel variant: x86-64-v4 (AVX-512), through a target attribute
// on its entry points; the file's own flags are those of the rest of the module.
// float64 only: on AVX-512 CPUs float32 runs the avx2 kernels (dispatch.cpp).
#include "variants/entry_points.h"

#if PLAINNET_X86_DISPATCH
#if defined(__clang__)
#define PLAINNET_AVX512 __attribute__((target("arch=x86-64-v4"), flatten))
#else
// GCC otherwise prefers 256-bit vectors even where 512-bit ones are available.
#define PLAINNET_AVX512 __attribute__((target("arch=x86-64-v4,prefer-vector-width=512"), flatten))
#endif

namespace plainnet {
namespace variant_avx512 {
PLAINNET_ENTRY_POINTS(PLAINNET_AVX512, "avx512", double, d, 4, 32)
}  // namespace variant_avx512
}  // namespace plainnet
#endif
