// The "avx512" kernel variant: x86-64-v4 (AVX-512), through a target attribute
// on its entry points; the file's own flags are those of the rest of the module.
#include "variants/entry_points.h"

#if PLAINNET_X86_DISPATCH
#if defined(__clang__)
#define PLAINNET_AVX512 __attribute__((target("arch=x86-64-v4"), flatten))
#else
// GCC otherwise prefers 256-bit vectors even where 512-bit ones are available.
#define PLAINNET_AVX512 __attribute__((target("arch=x86-64-v4,prefer-vector-width=512"), flatten))
#endif

// A tile two vectors wide: 12 rows x 2 zmm = 24 accumulators, with the two
// rows of B and the broadcast of A, 27 of the 32 zmm registers. Tiles four
// vectors wide (4 x 32 doubles, 4 x 64 floats) left GCC 12 a j loop of four
// vector iterations that it kept as a loop (micro_tile does not unroll j), so
// the accumulators lived on the stack: every FMA loaded and stored its
// accumulator, which in float ran 20x slower than the AVX2 kernels.
namespace plainnet {
namespace variant_avx512 {
PLAINNET_ENTRY_POINTS(PLAINNET_AVX512, "avx512", double, d, 12, 16)
PLAINNET_ENTRY_POINTS(PLAINNET_AVX512, "avx512", float, f, 12, 32)
}  // namespace variant_avx512
}  // namespace plainnet
#endif
