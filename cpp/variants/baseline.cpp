// The "baseline" kernel variant: the fast kernels for the compiler's default
// target (any x86-64 CPU with GCC/Clang's defaults).
#include "variants/entry_points.h"

namespace plainnet {
namespace variant_baseline {
PLAINNET_ENTRY_POINTS(PLAINNET_FLATTEN, "baseline", double, d, 6, 4)
PLAINNET_ENTRY_POINTS(PLAINNET_FLATTEN, "baseline", float, f, 6, 8)
}  // namespace variant_baseline
}  // namespace plainnet
