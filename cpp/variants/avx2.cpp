// The "avx2" kernel variant: x86-64-v3 (AVX2 + FMA), through a target attribute
// on its entry points; the file's own flags are those of the rest of the module.
#include "variants/entry_points.h"

#if PLAINNET_X86_DISPATCH
#define PLAINNET_AVX2 __attribute__((target("arch=x86-64-v3"), flatten))

namespace plainnet {
namespace variant_avx2 {
PLAINNET_ENTRY_POINTS(PLAINNET_AVX2, "avx2", double, d, 6, 8)
PLAINNET_ENTRY_POINTS(PLAINNET_AVX2, "avx2", float, f, 6, 16)
}  // namespace variant_avx2
}  // namespace plainnet
#endif
