// The entry points of one kernel variant: the fast kernels of fast.h compiled
// with a GCC/Clang target attribute (none for the baseline) and `flatten`,
// which inlines everything they call from fast.h into them, so each variant is
// self-contained code for its instruction set while the rest of the module
// stays baseline x86-64. Included by baseline.cpp, avx2.cpp and avx512.cpp
// only, each of which instantiates PLAINNET_ENTRY_POINTS for its variant.
#pragma once

#include "fast.h"
#include "variants/tables.h"

#if defined(__GNUC__) || defined(__clang__)
#define PLAINNET_FLATTEN __attribute__((flatten))
#define PLAINNET_NOINLINE __attribute__((noinline))
#else
#define PLAINNET_FLATTEN
#define PLAINNET_NOINLINE
#endif

// The entry points of one variant for one element type T, and their table
// table_##SUF (declared in tables.h). MR x NR is the register tile of the
// blocked product (gemm.h), chosen per instruction set so that the
// accumulators fill most of the vector registers. part_##SUF is the one copy
// of the blocked product per variant and type: not inlined into the entry
// points that pass it around, where it would be compiled again in another
// context (once, an inlined copy kept the tile's accumulators in memory and
// ran 3x slower than this one). few_##SUF, the few-rows product, likewise
// (a forward product of a few rows calls it through Product::few): compiled
// inside part_##SUF, a template per row count grew that function until one
// row of 784 x 128 float32 took 10x as long. update_range_##SUF is the same for the
// optimizer's update, which the pool runs in parts: code the pool calls must
// be reached through such a pointer to be compiled for the variant at all.
#define PLAINNET_ENTRY_POINTS(ATTR, NAME, T, SUF, MR, NR)                                        \
    PLAINNET_NOINLINE ATTR static void part_##SUF(const fast::Product<T>& P, int p, int n) {     \
        fast::product_part<T, MR, NR>(P, p, n);                                                  \
    }                                                                                            \
    PLAINNET_NOINLINE ATTR static void few_##SUF(const fast::Product<T>& P, int p, int n) {      \
        fast::few_rows_part<T, NR>(P, p, n);                                                     \
    }                                                                                            \
    ATTR static void dense_forward_##SUF(T* out, const T* inp, const T* w, const T* b,           \
                                         int64_t B, int64_t C, int64_t OC) {                     \
        fast::dense_forward<T>(part_##SUF, few_##SUF, out, inp, w, b, B, C, OC);                 \
    }                                                                                            \
    ATTR static void dense_backward_##SUF(T* dinp, T* dw, T* db, const T* dout, const T* inp,    \
                                          const T* w, int64_t B, int64_t C, int64_t OC,          \
                                          bool accumulate) {                                     \
        fast::dense_backward<T>(part_##SUF, dinp, dw, db, dout, inp, w, B, C, OC, accumulate);   \
    }                                                                                            \
    PLAINNET_NOINLINE ATTR static void activation_forward_##SUF(T* out, const T* z, int64_t N,   \
                                                                 Act act) {                      \
        activate<fast::Math>(out, z, N, act);                                                    \
    }                                                                                            \
    ATTR static void dense_act_forward_##SUF(T* z, T* a, const T* inp, const T* w, const T* b,   \
                                             int64_t B, int64_t C, int64_t OC, Act act,          \
                                             const T* panels) {                                  \
        fast::dense_act_forward<T>(part_##SUF, few_##SUF, activation_forward_##SUF, z, a, inp, w,\
                                   b, B, C, OC, act, panels);                                    \
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
    PLAINNET_NOINLINE ATTR static bool update_range_##SUF(                                       \
        T* p, T* const* s, const T* p0, const T* const* s0, const T* g, int64_t i0, int64_t i1,  \
        Optim kind, const Optimizer& o, int64_t t) {                                             \
        return optimizer_update_range<T>(p, s, p0, s0, g, i0, i1, kind, o, t);                   \
    }                                                                                            \
    ATTR static bool optimizer_update_##SUF(T* p, T* const* s, const T* p0, const T* const* s0,  \
                                            const T* g, int64_t N, Optim kind, const Optimizer& o, \
                                            int64_t t) {                                         \
        return fast::optimizer_update<T>(update_range_##SUF, p, s, p0, s0, g, N, kind, o, t);    \
    }                                                                                            \
    const Kernels<T> table_##SUF = {NAME,                                                        \
                                    dense_forward_##SUF,                                         \
                                    dense_backward_##SUF,                                        \
                                    activation_forward_##SUF,                                    \
                                    dense_act_forward_##SUF,                                     \
                                    activation_backward_##SUF,                                   \
                                    softmax_##SUF,                                               \
                                    loss_forward_##SUF,                                          \
                                    optimizer_update_##SUF,                                      \
                                    fast::kOneRowTiles * NR};
