// One translation unit, several instruction sets: the entry points below are
// compiled with GCC/Clang target attributes (x86-64-v3 for "avx2",
// x86-64-v4 for "avx512") and `flatten`, which inlines everything they call
// from fast.h into them, so each variant is self-contained code for its
// instruction set while the rest of the module stays baseline x86-64.
#include "dispatch.h"

#include <atomic>
#include <stdexcept>

#include "fast.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && \
    !defined(PLAINNET_BASELINE_ONLY)
#define PLAINNET_X86_DISPATCH 1
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PLAINNET_FLATTEN __attribute__((flatten))
#define PLAINNET_NOINLINE __attribute__((noinline))
#else
#define PLAINNET_FLATTEN
#define PLAINNET_NOINLINE
#endif

namespace plainnet {

// The entry points of one variant for one element type T. MR x NR is the
// register tile of the blocked product (gemm.h), chosen per instruction set
// so that the accumulators fill most of the vector registers. part_##SUF is
// the one copy of the blocked product per variant and type: not inlined into
// the entry points that pass it around, where it would be compiled again in
// another context (once, an inlined copy kept the tile's accumulators in
// memory and ran 3x slower than this one).
#define PLAINNET_ENTRY_POINTS(ATTR, NAME, T, SUF, MR, NR)                                        \
    PLAINNET_NOINLINE ATTR static void part_##SUF(const fast::Product<T>& P, int p, int n) {     \
        fast::product_part<T, MR, NR>(P, p, n);                                                  \
    }                                                                                            \
    ATTR static void dense_forward_##SUF(T* out, const T* inp, const T* w, const T* b,           \
                                         int64_t B, int64_t C, int64_t OC) {                     \
        fast::dense_forward<T>(part_##SUF, out, inp, w, b, B, C, OC);                            \
    }                                                                                            \
    ATTR static void dense_backward_##SUF(T* dinp, T* dw, T* db, const T* dout, const T* inp,    \
                                          const T* w, int64_t B, int64_t C, int64_t OC) {        \
        fast::dense_backward<T>(part_##SUF, dinp, dw, db, dout, inp, w, B, C, OC);               \
    }                                                                                            \
    ATTR static void activation_forward_##SUF(T* out, const T* z, int64_t N, Act act) {          \
        activate<fast::Math>(out, z, N, act);                                                    \
    }                                                                                            \
    ATTR static void dense_act_forward_##SUF(T* z, T* a, const T* inp, const T* w, const T* b,   \
                                             int64_t B, int64_t C, int64_t OC, Act act) {        \
        fast::dense_act_forward<T>(part_##SUF, z, a, inp, w, b, B, C, OC, act);                  \
    }                                                                                            \
    ATTR static void activation_backward_##SUF(T* dz, const T* dout, const T* z, const T* a,     \
                                               int64_t N, Act act) {                             \
        activate_backward<fast::Math>(dz, dout, z, a, N, act);                                   \
    }                                                                                            \
    ATTR static void softmax_##SUF(T* a, const T* z, int64_t B, int64_t K) {                   \
        softmax_rows<fast::Math>(a, z, B, K);                                                    \
    }                                                                                            \
    ATTR static double loss_forward_##SUF(const T* z, const T* a, const T* y, int64_t B,         \
                                          int64_t K, Loss loss) {                                \
        return loss_forward<fast::Math>(z, a, y, B, K, loss);                                    \
    }                                                                                            \
    ATTR static void optimizer_update_##SUF(T* p, T* const* s, const T* p0, const T* const* s0,  \
                                            const T* g, int64_t N, Optim kind, const Optimizer& o, \
                                            int64_t t) {                                         \
        optimizer_update<T>(p, s, p0, s0, g, N, kind, o, t);                                     \
    }                                                                                            \
    static const Kernels<T> table_##SUF = {NAME,                                                 \
                                           dense_forward_##SUF,                                  \
                                           dense_backward_##SUF,                                 \
                                           activation_forward_##SUF,                             \
                                           dense_act_forward_##SUF,                              \
                                           activation_backward_##SUF,                            \
                                           softmax_##SUF,                                        \
                                           loss_forward_##SUF,                                   \
                                           optimizer_update_##SUF};

namespace variant_naive {
template <typename T>
void dense_act_forward(T* z, T* a, const T* inp, const T* w, const T* b, int64_t B, int64_t C,
                       int64_t OC, Act act) {
    dense_forward(z, inp, w, b, B, C, OC);
    activate<Libm>(a, z, B * OC, act);
}
template <typename T>
const Kernels<T> table = {"naive",
                          dense_forward<T>,
                          dense_backward<T>,
                          activate<Libm, T>,
                          dense_act_forward<T>,
                          activate_backward<Libm, T>,
                          softmax_rows<Libm, T>,
                          loss_forward<Libm, T>,
                          optimizer_update<T>};
}  // namespace variant_naive

// Any x86-64 (SSE2) or, on other machines, whatever the compiler targets.
namespace variant_baseline {
PLAINNET_ENTRY_POINTS(PLAINNET_FLATTEN, "baseline", double, d, 6, 4)
PLAINNET_ENTRY_POINTS(PLAINNET_FLATTEN, "baseline", float, f, 6, 8)
}  // namespace variant_baseline

#if PLAINNET_X86_DISPATCH
#define PLAINNET_AVX2 __attribute__((target("arch=x86-64-v3"), flatten))
#if defined(__clang__)
#define PLAINNET_AVX512 __attribute__((target("arch=x86-64-v4"), flatten))
#else
// GCC otherwise prefers 256-bit vectors even where 512-bit ones are available.
#define PLAINNET_AVX512 __attribute__((target("arch=x86-64-v4,prefer-vector-width=512"), flatten))
#endif
namespace variant_avx2 {
PLAINNET_ENTRY_POINTS(PLAINNET_AVX2, "avx2", double, d, 6, 8)
PLAINNET_ENTRY_POINTS(PLAINNET_AVX2, "avx2", float, f, 6, 16)
}  // namespace variant_avx2
// A tile two vectors wide: 12 rows x 2 zmm = 24 accumulators, with the two
// rows of B and the broadcast of A, 27 of the 32 zmm registers. Tiles four
// vectors wide (4 x 32 doubles, 4 x 64 floats) left GCC 12 a j loop of four
// vector iterations that it kept as a loop (micro_tile does not unroll j), so
// the accumulators lived on the stack: every FMA loaded and stored its
// accumulator, which in float ran 20x slower than the AVX2 kernels.
namespace variant_avx512 {
PLAINNET_ENTRY_POINTS(PLAINNET_AVX512, "avx512", double, d, 12, 16)
PLAINNET_ENTRY_POINTS(PLAINNET_AVX512, "avx512", float, f, 12, 32)
}  // namespace variant_avx512
#endif

namespace {

struct Variant {
    const char* name;
    const Kernels<double>* d;
    const Kernels<float>* f;
};

const Variant kVariants[] = {
    {"naive", &variant_naive::table<double>, &variant_naive::table<float>},
    {"baseline", &variant_baseline::table_d, &variant_baseline::table_f},
#if PLAINNET_X86_DISPATCH
    {"avx2", &variant_avx2::table_d, &variant_avx2::table_f},
    {"avx512", &variant_avx512::table_d, &variant_avx512::table_f},
#endif
};
constexpr int kNumVariants = int(sizeof(kVariants) / sizeof(kVariants[0]));

bool cpu_supports(const std::string& name) {
#if PLAINNET_X86_DISPATCH
    __builtin_cpu_init();
    bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
              __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
    if (name == "avx2") return v3;
    if (name == "avx512") {
        return v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl");
    }
#endif
    return name == "naive" || name == "baseline";
}

int best_variant() {
    int best = 1;  // baseline
    for (int i = 2; i < kNumVariants; i++) {
        if (cpu_supports(kVariants[i].name)) best = i;
    }
    return best;
}

std::atomic<int> g_current{best_variant()};

}  // namespace

template <>
const Kernels<double>& kernels<double>() {
    return *kVariants[g_current.load(std::memory_order_relaxed)].d;
}

template <>
const Kernels<float>& kernels<float>() {
    return *kVariants[g_current.load(std::memory_order_relaxed)].f;
}

std::vector<std::string> compiled_variants() {
    std::vector<std::string> out;
    for (const auto& v : kVariants) out.push_back(v.name);
    return out;
}

std::vector<std::string> supported_variants() {
    std::vector<std::string> out;
    for (const auto& v : kVariants) {
        if (cpu_supports(v.name)) out.push_back(v.name);
    }
    return out;
}

std::string current_variant() { return kVariants[g_current.load()].name; }

void set_variant(const std::string& name) {
    std::string known;
    for (int i = 0; i < kNumVariants; i++) {
        if (name == kVariants[i].name) {
            if (!cpu_supports(name)) {
                throw std::invalid_argument("kernel variant '" + name +
                                            "' is compiled in but this CPU does not support it");
            }
            g_current.store(i);
            return;
        }
        known += (known.empty() ? "" : ", ") + std::string(kVariants[i].name);
    }
    throw std::invalid_argument("unknown kernel variant '" + name + "'; compiled: " + known);
}

std::string compiler_description() {
#if defined(__clang__)
    std::string c = "clang " __clang_version__;
#elif defined(__GNUC__)
    std::string c = "gcc " __VERSION__;
#elif defined(_MSC_VER)
    std::string c = "msvc " + std::to_string(_MSC_VER);
#else
    std::string c = "unknown compiler";
#endif
    return c;
}

}  // namespace plainnet
