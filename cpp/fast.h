// The fast versions of the kernels in kernels.h: same names, same arguments,
// same results up to rounding. kernels.h stays the simplest correct version
// and the tests hold every variant compiled from this file against it and
// against NumPy.
//
// What makes them fast, all in plain loops the compiler vectorises:
//  - the dense layer's three products go through gemm.h (register and cache
//    blocking, packing), split over the thread pool when they are big enough;
//  - the sigmoid uses exp_nonpositive below, a vectorisable exp accurate to
//    about 1 ulp, instead of a call into libm per element;
//  - each activation runs its own loop (ops.h), one branch-free loop each.
//
// This header is compiled once per instruction set (see cpp/variants/): every
// function is a template that the per-target entry points instantiate and
// inline, so no code generated for AVX-512 is ever shared with the baseline.
#pragma once

#include <atomic>
#include <cmath>
#include <thread>
#include <cstdint>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "ops.h"
#include "threads.h"

namespace plainnet {
namespace fast {

// ---------------------------------------------------------------- exp

template <typename T>
struct ExpConst;

template <>
struct ExpConst<double> {
    using Bits = uint64_t;
    static constexpr int kMantissa = 52;
    static constexpr Bits kBias = 1023;
    static constexpr double kShifter = 0x1.8p52;  // adding it rounds to an integer
    static constexpr double kLog2e = 1.4426950408889634;
    static constexpr double kLn2Hi = 0x1.62e42fefa3800p-1;  // ln 2 split so n * hi is exact
    static constexpr double kLn2Lo = 0x1.ef35793c76730p-45;
    static constexpr double kMin = -745.2;  // exp(x) rounds to 0 below this
};

template <>
struct ExpConst<float> {
    using Bits = uint32_t;
    static constexpr int kMantissa = 23;
    static constexpr Bits kBias = 127;
    static constexpr float kShifter = 0x1.8p23f;
    static constexpr float kLog2e = 1.44269504f;
    static constexpr float kLn2Hi = 0x1.62e4p-1f;
    static constexpr float kLn2Lo = 0x1.7f7d1cp-20f;
    static constexpr float kMin = -104.0f;
};

// 1/k! for k = 0 .. 13, the Taylor coefficients of exp.
constexpr double kInverseFactorial[] = {
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362880.0,
    1.0 / 3628800.0,
    1.0 / 39916800.0,
    1.0 / 479001600.0,
    1.0 / 6227020800.0,
};

// exp(x) for x <= 0 (NaN stays NaN): x = n ln2 + r with |r| <= ln2 / 2,
// exp(r) by its Taylor series (error below 1e-17 relative in double), and
// 2^n built from the exponent bits, in two halves so that results below
// the smallest normal number underflow gradually as they should.
template <typename T>
inline T exp_nonpositive(T x) {
    using C = ExpConst<T>;
    using Bits = typename C::Bits;
    const bool under = x < T(C::kMin);
    x = under ? T(0) : x;
    T t = x * T(C::kLog2e) + T(C::kShifter);
    T n = t - T(C::kShifter);
    T r = (x - n * T(C::kLn2Hi)) - n * T(C::kLn2Lo);
    // Horner's rule on 1/k!, k = degree .. 0: degree 13 for double, 8 for float.
    constexpr int degree = sizeof(T) == 8 ? 13 : 8;
    T p = T(kInverseFactorial[degree]);
#pragma GCC unroll 16
    for (int k = degree - 1; k >= 0; k--) p = p * r + T(kInverseFactorial[k]);
    // n sits in the low bits of t; n / 2 and n - n / 2 each give a normal 2^k.
    Bits tb;
    std::memcpy(&tb, &t, sizeof(T));
    using SBits = std::make_signed_t<Bits>;
    SBits ni = SBits(tb << (8 * sizeof(T) - C::kMantissa)) >> (8 * sizeof(T) - C::kMantissa);
    SBits n1 = ni / 2, n2 = ni - n1;
    Bits s1b = Bits(n1 + SBits(C::kBias)) << C::kMantissa;
    Bits s2b = Bits(n2 + SBits(C::kBias)) << C::kMantissa;
    T s1, s2;
    std::memcpy(&s1, &s1b, sizeof(T));
    std::memcpy(&s2, &s2b, sizeof(T));
    T y = p * s1 * s2;
    return under ? T(0) : y;
}

template <typename T>
inline T sigmoid(T z) {
    T e = exp_nonpositive(-std::fabs(z));
    return (z >= T(0) ? T(1) : e) / (T(1) + e);
}

// The math policy of ops.h for the fast variants: the exp and sigmoid above.
struct Math {
    template <typename T>
    static T sigmoid(T z) {
        return fast::sigmoid(z);
    }
    template <typename T>
    static T exp_nonpositive(T x) {
        return fast::exp_nonpositive(x);
    }
};

// ---------------------------------------------------------------- products

// How C starts before the products are added.
enum class Init { accumulate, row, zero };  // C as it is, a bias row (N) on every row, or 0

template <typename T>
struct SharedB;

// out (N) = f(z (N)): a variant's own activation loop, compiled on its own
// (activation_forward in entry_points.h).
template <typename T>
using ActFn = void (*)(T* out, const T* z, int64_t N, Act act);

// One product C = init + A @ B, described once and computed in parts.
template <typename T>
struct Product {
    T* c;
    int64_t ldc;
    gemm::View<T> A, B;
    const T* bias;
    Init init;
    int64_t M, N, K;
    T* act_out = nullptr;  // if set, act_out = f(C) (same layout as C) once C is complete
    Act act = Act::linear;
    ActFn<T> activate = nullptr;   // how, with act_out: the variant's activation loop
    SharedB<T>* shared = nullptr;  // if set, computed as shared_part's items (see SharedB)
    const T* panels = nullptr;     // if set, B's copy in row panels, for few_rows_part
    // few_rows_part, compiled as a function of its own per variant
    // (entry_points.h): a forward product of a few rows runs it, and only
    // one that has it (others go the blocked way).
    void (*few)(const Product<T>&, int, int) = nullptr;
};

// act_out = f(C) on rows [i0, i1) x columns [j0, j1), through P.activate:
// a loop of its own, not one inlined into the product. Inlined into the
// flattened product part, GCC 12 left ReLU's loop scalar with a branch on
// each unit's sign, mispredicted for a good share of the units: a sixth of
// a 64-64-10 mini-batch step.
template <typename T>
void apply_activation(const Product<T>& P, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    if (P.act_out == nullptr) return;
    if (j0 == 0 && j1 == P.N && P.ldc == P.N) {
        P.activate(P.act_out + i0 * P.ldc, P.c + i0 * P.ldc, (i1 - i0) * P.N, P.act);
        return;
    }
    for (int64_t i = i0; i < i1; i++)
        P.activate(P.act_out + i * P.ldc + j0, P.c + i * P.ldc + j0, j1 - j0, P.act);
}

// Below this many multiply-adds a product is not worth blocking.
constexpr int64_t kSmallProduct = 4096;
// From this many multiply-adds on (about 6 us on one core), a product is
// split over the thread pool. Below it, handing half to another thread cost
// more than it saved: a digits-sized mini-batch (64-64-10, batches of 32,
// products of 2^17) ran faster on one thread than on two.
constexpr int64_t kThreadedProduct = int64_t(1) << 18;
// From this many on, a product whose split runs along the rows of C' (see
// product_part) is computed as SharedB's items: B' is packed once, shared by
// the threads, and the rows come in bands that the threads claim as they come
// free, so a thread that gets its core late (another process's threads still
// spinning on it, say) takes fewer of them instead of holding up the others
// with a whole half. Smaller products (an MNIST-sized mini-batch's 6.4M) stay
// in one part per thread; other big ones in kPartsPerThread parts per thread,
// each of which packs the whole of one operand.
constexpr int64_t kFineProduct = int64_t(1) << 24;
constexpr int kPartsPerThread = 2;
// SharedB's bands per thread (about), and their least height in register
// tiles: each band reads all of the packed B' once, from L2 or L3, so a band
// of a tile or two would spend more time bringing B' in than multiplying.
constexpr int kBandsPerThread = 4;
constexpr int kLeastBandTiles = 4;
// The part index that asks product_part for SharedB's plan (see product).
constexpr int kPlan = -1;

// A big product shared by the threads: items [0, pack_items) each pack the
// panels of one group of columns of one block of K into `packed` (gemm.h's
// PackedB layout); items from pack_items on each compute one band of `band`
// rows of C' against it, after every pack item is done. Items are claimed in
// order, so a band never waits for a pack item nobody has started. Every
// element's sum is the one the other paths compute (gemm.h), so results do
// not depend on the thread count or on who computed which item.
template <typename T>
struct SharedB {
    // The plan, filled by the variant's product_part (it knows MR x NR).
    bool ct = false;                // C' = C^T (see product_part)
    int64_t M = 0, N = 0, K = 0;    // C' (M x N) = A' (M x K) B' (K x N)
    gemm::View<T> A{}, B{};         // A' and B'
    int64_t kc = 0, npad = 0;       // depth of K's blocks; N in whole panels
    int64_t groups = 0, group = 0;  // column groups per K block, and their width
    int64_t band = 0;               // rows of C' per band
    int pack_items = 0, band_items = 0;  // band_items 0: not for this product
    T* packed = nullptr;            // K x npad, the caller's scratch
    std::atomic<int> packs_done{0};
};

// The share of a register tile's work that is real when n is cut in tiles of t.
inline double tile_use(int64_t n, int64_t t) { return double(n) / double((n + t - 1) / t * t); }

// ---------------------------------------------------------------- few rows

// Up to this many rows (a prediction of one row, say), a forward product
// C = bias + A @ W runs as one matrix-vector product per row, reading W where
// it lies. The blocked product would copy all of W into panels first: for one
// row of a 784-128 layer that copy moved as many bytes as the product read,
// and its MR-row register tile did MR times the multiply-adds of the one row.
// W (C, OC) row-major is already the layout this loop wants (row k of W is
// the k-th term of every output), so nothing is prepared or cached, and
// nothing can go stale when the weights change.
constexpr int64_t kFewRows = 4;
// Below this many weights (K x N) a few rows go the simple way (the loop of
// tiny products, the same sums): a training step of the tutorial's XOR
// network was a third slower through the matrix-vector path.
constexpr int64_t kFewRowsLeast = 256;
// Tiles of NR columns summed side by side in one pass over the rows of W,
// for all the rows together: each output's sum is one chain of dependent
// multiply-adds, so it takes several tiles' independent chains to keep the
// FMA units busy. Eight tiles' sums still fit in the registers (16
// vectors); for one row, eight tiles instead of four (half the passes over
// W's rows, each reading twice as much of a row) ran a 784-512-512-10 row
// 7 % faster on one core.
constexpr int kOneRowTiles = 8;
// A pass of few_rows_part over kOneRowTiles tiles reads a slice of every row
// of W, the rows far apart: a one-row 2048 x 512 float32 product took 66 us
// on one core, 4096 x 256 (one pass over whole rows) 45. For a network that
// answers one row at a time, predict can read a copy of each wide layer's W
// in row panels instead: its columns in panels kOneRowTiles * NR wide (the
// last one narrower), each panel its K rows one after the other, so that a
// pass reads one stream (network.h, RowPanels).

// c[r * ldc + 0 .. G*NR) += sum over k of x[r * ldx + k] * w[k * ldw + 0 ..
// G*NR) for R rows of x at once, each element summed in the order c, then
// k = 0, 1, ...: the order of micro_tile, so a row computed here equals the
// same row computed by the blocked product. One pass over W's rows serves
// all R rows, where a pass per row read W R times (4 rows of 784-512-512-10
// float32 took twice as long as ONNX Runtime's).
template <typename T, int NR, int G, int R>
inline void rows_tiles(int64_t K, const T* __restrict x, int64_t ldx, const T* __restrict w,
                       int64_t ldw, T* __restrict c, int64_t ldc) {
    T acc[R][G][NR];
#pragma GCC unroll 64
    for (int r = 0; r < R; r++)
#pragma GCC unroll 64
        for (int g = 0; g < G; g++)
#pragma GCC unroll 64
            for (int j = 0; j < NR; j++) acc[r][g][j] = c[r * ldc + g * NR + j];
    for (int64_t k = 0; k < K; k++) {
        const T* wk = w + k * ldw;
        T xk[R];
#pragma GCC unroll 64
        for (int r = 0; r < R; r++) xk[r] = x[r * ldx + k];
#pragma GCC unroll 64
        for (int g = 0; g < G; g++)
#pragma GCC unroll 64
            for (int r = 0; r < R; r++) {
#pragma GCC unroll 1
                for (int j = 0; j < NR; j++) acc[r][g][j] += xk[r] * wk[g * NR + j];
            }
    }
#pragma GCC unroll 64
    for (int r = 0; r < R; r++)
#pragma GCC unroll 64
        for (int g = 0; g < G; g++)
#pragma GCC unroll 64
            for (int j = 0; j < NR; j++) c[r * ldc + g * NR + j] = acc[r][g][j];
}

// Whether product_part runs P as few_rows_part.
template <typename T>
inline bool few_rows(const Product<T>& P) {
    return P.few != nullptr && P.init == Init::row && P.M <= kFewRows && P.A.cs == 1 &&
           P.B.cs == 1 && P.K * P.N >= kFewRowsLeast;
}

// Row x of a few-rows product times the last `left` columns of W, fewer
// than NR (all 10 outputs of a classifier), into c, with rows_columns'
// arguments (w at those columns): the same sums, in a register tile. Rows
// of W are read a whole tile wide, the lanes past `left` summing
// neighbouring weights that are never stored, as long as the tile stays
// inside what may be read; the last rows, where it would not, one element
// at a time. Summed element by element, with the count only known at run
// time, the tile lived in memory: 512 x 10 took 1.4 us, a twentieth of a
// 784-512-512-10 row.
template <typename T, int NR>
inline void row_last_columns(int64_t K, const T* x, const T* w, int64_t rs, int64_t readable,
                             T* c, int64_t left) {
    T acc[NR];
    for (int jj = 0; jj < NR; jj++) acc[jj] = jj < left ? c[jj] : T(0);
    int64_t k = 0;
    for (; k < K && k * rs + NR <= readable; k++) {
        const T xk = x[k];
        const T* wk = w + k * rs;
#pragma GCC unroll 1
        for (int jj = 0; jj < NR; jj++) acc[jj] += xk * wk[jj];
    }
    for (; k < K; k++) {
        const T xk = x[k];
        const T* wk = w + k * rs;
        for (int64_t jj = 0; jj < left; jj++) acc[jj] += xk * wk[jj];
    }
    for (int64_t jj = 0; jj < left; jj++) c[jj] = acc[jj];
}

// R rows of a few-rows product (x, ldx apart) times `cols` columns of W into
// c (ldc apart), each output summed in the order c, then k = 0, 1, ...: w is
// the first column's weight in row 0, rows of W are rs apart, and
// `readable` elements from w on may be read. Each pass over W's rows sums
// kOneRowTiles tiles in all (8 tiles of one row, 4 of two, 2 of three or
// four rows), then half as many, then one.
template <typename T, int NR, int R>
inline void rows_columns(int64_t K, const T* x, int64_t ldx, const T* w, int64_t rs,
                         int64_t readable, T* c, int64_t ldc, int64_t cols) {
    constexpr int G = kOneRowTiles / R >= 2 ? kOneRowTiles / R : 2;
    int64_t j = 0;
    for (; j + G * NR <= cols; j += G * NR)
        rows_tiles<T, NR, G, R>(K, x, ldx, w + j, rs, c + j, ldc);
    for (; j + G / 2 * NR <= cols; j += G / 2 * NR)
        rows_tiles<T, NR, G / 2, R>(K, x, ldx, w + j, rs, c + j, ldc);
    for (; j + NR <= cols; j += NR) rows_tiles<T, NR, 1, R>(K, x, ldx, w + j, rs, c + j, ldc);
    for (int r = 0; r < R && j < cols; r++)
        row_last_columns<T, NR>(K, x + r * ldx, w + j, rs, readable - j, c + r * ldc + j, cols - j);
}

// Part p of n of a few-rows product (C holds the bias rows): the columns of
// C in bands of whole NR tiles, every row, then their activation. With
// P.panels, W's columns are read from their copy in row panels (RowPanels).
template <typename T, int NR>
void few_rows_part(const Product<T>& P, int p, int n) {
    const int64_t tiles = (P.N + NR - 1) / NR;
    const int64_t lo = std::min(P.N, tiles * p / n * NR);
    const int64_t hi = std::min(P.N, tiles * (p + 1) / n * NR);
    if (lo >= hi) return;
    // Columns [j0, j0 + cols) of every row, W's rows rs apart from w (column
    // j0), `readable` elements from w on.
    auto columns = [&](const T* w, int64_t rs, int64_t readable, int64_t j0, int64_t cols) {
        const T* x = P.A.p;
        T* c = P.c + j0;
        switch (P.M) {
            case 1: return rows_columns<T, NR, 1>(P.K, x, P.A.rs, w, rs, readable, c, P.ldc, cols);
            case 2: return rows_columns<T, NR, 2>(P.K, x, P.A.rs, w, rs, readable, c, P.ldc, cols);
            case 3: return rows_columns<T, NR, 3>(P.K, x, P.A.rs, w, rs, readable, c, P.ldc, cols);
            default: return rows_columns<T, NR, 4>(P.K, x, P.A.rs, w, rs, readable, c, P.ldc, cols);
        }
    };
    static_assert(kFewRows == 4, "few_rows_part's cases cover 1 to kFewRows rows");
    constexpr int64_t width = kOneRowTiles * NR;  // of a row panel
    if (P.panels == nullptr) {
        columns(P.B.p + lo, P.B.rs, (P.K - 1) * P.B.rs + P.N - lo, lo, hi - lo);
    } else {
        for (int64_t q0 = lo / width * width; q0 < hi; q0 += width) {  // panel of columns q0..
            const int64_t w = std::min(width, P.N - q0), j0 = std::max(lo, q0);
            columns(P.panels + P.K * q0 + (j0 - q0), w, P.K * w - (j0 - q0), j0,
                    std::min(hi, q0 + w) - j0);
        }
    }
    apply_activation(P, 0, P.M, lo, hi);
}

// ---------------------------------------------------------------- few columns

// Sums shorter than this go the blocked way: the copy of W into padded rows
// that the narrow path makes on every call costs more than it saves there
// (64-32-10 trained a sixth slower through it).
constexpr int64_t kNarrowLeastK = 64;

// A forward product with fewer columns than a register tile (an output layer
// of 10, say) over many rows. Blocked, it wasted most of each tile, or,
// computed transposed, copied every input row into panels for only 10 sums
// each: a 512 x 128 x 10 product ran at a third of the rate of the layer
// before it. Here each group of R rows keeps R vectors of W columns (all N
// outputs, zero-padded to the vector) in registers and reads its inputs where
// they lie; W is copied once per call into rows of W (padded) columns.

// acc (R x WD, C's rows as given) += x (R rows, ldx apart) @ w (K x WD),
// each sum in the order c, then k = 0, 1, ...: that of micro_tile.
template <typename T, int R, int WD>
inline void narrow_tile(int64_t K, const T* __restrict x, int64_t ldx, const T* __restrict w,
                        T* __restrict c) {
    T acc[R][WD];
#pragma GCC unroll 64
    for (int r = 0; r < R; r++)
#pragma GCC unroll 64
        for (int j = 0; j < WD; j++) acc[r][j] = c[r * WD + j];
    for (int64_t k = 0; k < K; k++) {
        const T* wk = w + k * WD;
#pragma GCC unroll 64
        for (int r = 0; r < R; r++) {
            const T xr = x[r * ldx + k];
#pragma GCC unroll 1
            for (int j = 0; j < WD; j++) acc[r][j] += xr * wk[j];
        }
    }
#pragma GCC unroll 64
    for (int r = 0; r < R; r++)
#pragma GCC unroll 64
        for (int j = 0; j < WD; j++) c[r * WD + j] = acc[r][j];
}

// Whether product_part runs P as narrow_part (after few_rows).
template <typename T, int NR>
inline bool narrow(const Product<T>& P) {
    return P.init == Init::row && P.N < NR && P.A.cs == 1 && P.B.cs == 1 &&
           P.K >= kNarrowLeastK;
}

// Part p of n of a few-columns product (C holds the bias rows): bands of
// whole groups of R rows, then their activation. WD >= N.
template <typename T, int R, int WD>
void narrow_part(const Product<T>& P, int p, int n) {
    static thread_local std::vector<T> padded;
    padded.assign(size_t(P.K * WD), T(0));
    for (int64_t k = 0; k < P.K; k++)
        for (int64_t j = 0; j < P.N; j++) padded[size_t(k * WD + j)] = P.B.at(k, j);
    const int64_t groups = (P.M + R - 1) / R;
    const int64_t lo = std::min(P.M, groups * p / n * R);
    const int64_t hi = std::min(P.M, groups * (p + 1) / n * R);
    T tile[R * WD];
    auto load = [&](int64_t i0, int rows) {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < WD; j++)
                tile[r * WD + j] = j < P.N ? P.c[(i0 + r) * P.ldc + j] : T(0);
    };
    auto store = [&](int64_t i0, int rows) {
        for (int r = 0; r < rows; r++)
            for (int64_t j = 0; j < P.N; j++) P.c[(i0 + r) * P.ldc + j] = tile[r * WD + j];
    };
    int64_t i = lo;
    for (; i + R <= hi; i += R) {
        load(i, R);
        narrow_tile<T, R, WD>(P.K, P.A.p + i * P.A.rs, P.A.rs, padded.data(), tile);
        store(i, R);
    }
    for (; i < hi; i++) {  // the last rows, one at a time
        load(i, 1);
        narrow_tile<T, 1, WD>(P.K, P.A.p + i * P.A.rs, P.A.rs, padded.data(), tile);
        store(i, 1);
    }
    apply_activation(P, lo, hi, 0, P.N);
}

// Part p of n of the product (C already initialised), blocked with an
// MR x NR register tile. A product with few columns (an output layer of 10,
// say) wastes most of a wide tile, so it is computed transposed,
// C^T = B^T A^T, when that fills the tiles better. Parts are bands of
// whole tiles, so each element's sum is the same however many parts there are.
// Whether the product is better computed as C' = C^T = B^T A^T: when that
// fills the MR x NR tiles better.
template <int MR, int NR>
inline bool transposed(int64_t M, int64_t N) {
    return tile_use(N, MR) * tile_use(M, NR) > 1.25 * tile_use(M, MR) * tile_use(N, NR);
}

// Item p of SharedB's n, or with p == kPlan, the plan for n threads.
template <typename T, int MR, int NR>
void shared_part(const Product<T>& P, int p, int n) {
    SharedB<T>& S = *P.shared;
    if (p == kPlan) {
        if (few_rows(P) || narrow<T, NR>(P)) return;  // their own paths
        S.ct = transposed<MR, NR>(P.M, P.N);
        S.A = S.ct ? gemm::View<T>{P.B.p, P.B.cs, P.B.rs} : P.A;
        S.B = S.ct ? gemm::View<T>{P.A.p, P.A.cs, P.A.rs} : P.B;
        S.M = S.ct ? P.N : P.M;
        S.N = S.ct ? P.M : P.N;
        S.K = P.K;
        if (S.M < S.N) return;  // split along C's columns: product_part's way
        S.kc = gemm::k_block(S.K);
        S.npad = (S.N + NR - 1) / NR * NR;
        const int64_t blocks = (S.K + S.kc - 1) / S.kc, panels = S.npad / NR;
        // About kBandsPerThread pack items per thread too, in whole panels.
        const int64_t want = (int64_t(n) * kBandsPerThread + blocks - 1) / blocks;
        S.groups = std::max<int64_t>(1, std::min(panels, want));
        S.group = (panels + S.groups - 1) / S.groups * NR;
        S.groups = (S.npad + S.group - 1) / S.group;
        const int64_t tiles = (S.M + MR - 1) / MR;
        const int64_t per = std::max<int64_t>(kLeastBandTiles,
                                              tiles / (int64_t(n) * kBandsPerThread));
        S.band = per * MR;
        S.pack_items = int(blocks * S.groups);
        S.band_items = int((S.M + S.band - 1) / S.band);
        return;
    }
    if (p < S.pack_items) {
        const int64_t k0 = p / S.groups * S.kc, j0 = p % S.groups * S.group;
        const int64_t kc = std::min(S.kc, S.K - k0), nc = std::min(S.group, S.npad - j0);
        // j0 < N: groups are whole panels and npad - N < NR; pack_b zero-pads
        // the last panel past N.
        gemm::pack_b<T, NR>(S.packed + k0 * S.npad + j0 * kc, S.B, k0, kc, j0,
                            std::min(nc, S.N - j0), S.N);
        S.packs_done.fetch_add(1, std::memory_order_release);
        return;
    }
    while (S.packs_done.load(std::memory_order_acquire) < S.pack_items)
        std::this_thread::yield();
    static thread_local std::vector<T> pack_a;
    if (pack_a.empty()) pack_a.resize(gemm::pack_a_size<MR, NR>());
    const int64_t lo = int64_t(p - S.pack_items) * S.band, hi = std::min(S.M, lo + S.band);
    gemm::View<T> A = S.A;
    A.p += lo * A.rs;
    T* c = P.c + (S.ct ? lo : lo * P.ldc);
    const bool zero = P.init == Init::zero;
    const gemm::PackedB<T> packed{S.packed, S.npad};
    if (S.ct)
        gemm::blocked<T, MR, NR, true>(c, P.ldc, A, S.B, hi - lo, S.N, S.K, pack_a.data(),
                                       nullptr, zero, packed);
    else
        gemm::blocked<T, MR, NR, false>(c, P.ldc, A, S.B, hi - lo, S.N, S.K, pack_a.data(),
                                        nullptr, zero, packed);
    if (S.ct)
        apply_activation(P, 0, P.M, lo, hi);  // a band of C's columns
    else
        apply_activation(P, lo, hi, 0, P.N);  // a band of C's rows
}

template <typename T, int MR, int NR>
void product_part(const Product<T>& P, int p, int n) {
    if (P.shared != nullptr) return shared_part<T, MR, NR>(P, p, n);
    if (few_rows(P)) return P.few(P, p, n);
    // Up to half a tile wide: one vector per row, 8 rows at a time; else two, 4 rows.
    if (narrow<T, NR>(P))
        return P.N <= NR / 2 ? narrow_part<T, 8, NR / 2>(P, p, n) : narrow_part<T, 4, NR>(P, p, n);
    static thread_local std::vector<T> pack_a, pack_b;
    if (pack_a.empty()) {
        pack_a.resize(gemm::pack_a_size<MR, NR>());
        pack_b.resize(gemm::pack_b_size<MR, NR>());
    }
    const bool ct = transposed<MR, NR>(P.M, P.N);
    // The product as computed: C' (M' x N') = A' B'.
    gemm::View<T> A = P.A, B = P.B;
    int64_t M = P.M, N = P.N;
    if (ct) {
        A = {P.B.p, P.B.cs, P.B.rs};
        B = {P.A.p, P.A.cs, P.A.rs};
        std::swap(M, N);
    }
    // Split the larger dimension of C'.
    const bool rows = M >= N;
    const int64_t unit = rows ? MR : NR, extent = rows ? M : N;
    const int64_t tiles = (extent + unit - 1) / unit;
    const int64_t lo = std::min(extent, tiles * p / n * unit);
    const int64_t hi = std::min(extent, tiles * (p + 1) / n * unit);
    if (lo >= hi) return;
    T* c = P.c;
    if (rows) {
        A.p += lo * A.rs;
        M = hi - lo;
        c += ct ? lo : lo * P.ldc;
    } else {
        B.p += lo * B.cs;
        N = hi - lo;
        c += ct ? lo * P.ldc : lo;
    }
    const bool zero = P.init == Init::zero;
    if (ct)
        gemm::blocked<T, MR, NR, true>(c, P.ldc, A, B, M, N, P.K, pack_a.data(), pack_b.data(),
                                       zero);
    else
        gemm::blocked<T, MR, NR, false>(c, P.ldc, A, B, M, N, P.K, pack_a.data(), pack_b.data(),
                                        zero);
    // The activation of this band, while it is still in cache and on this thread.
    if (rows != ct)
        apply_activation(P, lo, hi, 0, P.N);  // a band of C's rows
    else
        apply_activation(P, 0, P.M, lo, hi);  // a band of C's columns
}

template <typename T>
using PartFn = void (*)(const Product<T>&, int, int);

// Runs a product: the plain loop for tiny ones, otherwise blocked parts,
// on the pool when it is big. `part` is the per-target instantiation of
// product_part, so pool threads run code compiled for the same instruction set.
template <typename T>
void product(const Product<T>& P, PartFn<T> part) {
    for (int64_t i = 0; i < P.M && P.init == Init::row; i++) {
        T* ci = P.c + i * P.ldc;
        for (int64_t j = 0; j < P.N; j++) ci[j] = P.bias[j];
    }
    // In double: the count itself may exceed int64 for absurd shapes.
    const double work = double(P.M) * double(P.N) * double(P.K);
    // A few rows, however small the product: the output layer of a one-row
    // prediction (128 x 10, say) is summed in registers, not in C.
    if (few_rows(P) && work < double(kThreadedProduct)) return part(P, 0, 1);
    if (work < double(kSmallProduct)) {
        for (int64_t i = 0; i < P.M && P.init == Init::zero; i++) {
            T* ci = P.c + i * P.ldc;
            for (int64_t j = 0; j < P.N; j++) ci[j] = T(0);
        }
        // The same summation order as the blocked code.
        for (int64_t i = 0; i < P.M; i++) {
            T* ci = P.c + i * P.ldc;
            for (int64_t k = 0; k < P.K; k++) {
                T a = P.A.at(i, k);
                for (int64_t j = 0; j < P.N; j++) ci[j] += a * P.B.at(k, j);
            }
        }
        return apply_activation(P, 0, P.M, 0, P.N);
    }
    int n = work >= double(kThreadedProduct) ? threads::available() : 1;
    if (n <= 1) return part(P, 0, 1);
    if (work >= double(kFineProduct)) {
        SharedB<T> S;
        Product<T> Q = P;
        Q.shared = &S;
        part(Q, kPlan, n);
        if (S.band_items > 0) {
            // The caller's own scratch: concurrent callers each have theirs.
            static thread_local std::vector<T> packed;
            const size_t size = size_t(S.K * S.npad);
            if (packed.size() < size) packed.resize(size);
            S.packed = packed.data();
            struct Job {
                const Product<T>* Q;
                PartFn<T> part;
                int n;
            } job{&Q, part, S.pack_items + S.band_items};
            threads::parallel_for(job.n, [](void* ctx, int p) {
                auto* j = static_cast<Job*>(ctx);
                j->part(*j->Q, p, j->n);
            }, &job);
            return;
        }
        n *= kPartsPerThread;
    }
    struct Job {
        const Product<T>* P;
        PartFn<T> part;
        int n;
    } job{&P, part, n};
    threads::parallel_for(n, [](void* ctx, int p) {
        auto* j = static_cast<Job*>(ctx);
        j->part(*j->P, p, j->n);
    }, &job);
}

// ---------------------------------------------------------------- optimizer

// From how many parameters on an update is split over the thread pool. An
// update streams every parameter, gradient and state array once (an Adam
// step on 100,000 float64 parameters moves 5.6 MB), so a big one is bound by
// memory bandwidth, which two cores have more of than one. Adam's also takes
// a square root and two divisions per parameter, which share one unit of
// the core (about 5 cycles per float64 parameter with AVX2): worth splitting
// from far fewer parameters, 4,810 for a 64-64-10 network say.
inline int64_t threaded_update_from(Optim kind) {
    return kind == Optim::adam || kind == Optim::adamw ? int64_t(1) << 12 : int64_t(1) << 15;
}

template <typename T>
using RangeFn = bool (*)(T* p, T* const* s, const T* p0, const T* const* s0, const T* g,
                         int64_t i0, int64_t i1, Optim kind, const Optimizer& o, int64_t t);

// ops.h's optimizer_update, in parts of whole blocks on the pool when it is
// big. Each element is computed by the same code whatever the part, so the
// results do not depend on the thread count. `range` is the per-target
// instantiation of optimizer_update_range: the pool calls it through the
// lambda below, which is compiled without the variant's target attribute,
// and so would otherwise run baseline code (SSE2 in a 4,810-parameter Adam
// step that took 3 to 4 times as long as AVX2's).
template <typename T>
bool optimizer_update(RangeFn<T> range, T* p, T* const* s, const T* p0, const T* const* s0,
                      const T* g, int64_t N, Optim kind, const Optimizer& o, int64_t t) {
    int n = N >= threaded_update_from(kind) ? threads::available() : 1;
    if (n <= 1) return range(p, s, p0, s0, g, 0, N, kind, o, t);
    // Like a big product, a big update comes in several parts per thread, so
    // that a thread that gets its core late takes fewer of them. (Its parts
    // share nothing, so they cost nothing more than a claim each.)
    if (N >= 4 * threaded_update_from(kind)) n *= kBandsPerThread;
    n = int(std::min<int64_t>(n, 64));
    struct Job {
        RangeFn<T> range;
        T* p;
        T* const* s;
        const T* p0;
        const T* const* s0;
        const T* g;
        int64_t N;
        Optim kind;
        const Optimizer* o;
        int64_t t;
        int n;
        bool finite[64];
    } job{range, p, s, p0, s0, g, N, kind, &o, t, n, {}};
    threads::parallel_for(n, [](void* ctx, int part) {
        auto* j = static_cast<Job*>(ctx);
        const int64_t blocks = (j->N + kUpdateBlock - 1) / kUpdateBlock;
        const int64_t i0 = std::min(j->N, blocks * part / j->n * kUpdateBlock);
        const int64_t i1 = std::min(j->N, blocks * (part + 1) / j->n * kUpdateBlock);
        j->finite[part] = j->range(j->p, j->s, j->p0, j->s0, j->g, i0, i1, j->kind, *j->o, j->t);
    }, &job);
    bool finite = true;
    for (int i = 0; i < n; i++) finite &= job.finite[i];
    return finite;
}

// ---------------------------------------------------------------- dense layer

// inp (B, C), weight (C, OC), bias (OC); out (B, OC) = inp @ weight + bias
// few: few_rows_part for this variant (Product::few).
template <typename T>
void dense_forward(PartFn<T> part, PartFn<T> few, T* out, const T* inp, const T* weight,
                   const T* bias, int64_t B, int64_t C, int64_t OC) {
    Product<T> P{out, OC, {inp, C, 1}, {weight, OC, 1}, bias, Init::row, B, OC, C};
    P.few = few;
    product<T>(P, part);
}

// dense_forward into z (B, OC), then a = f(z), each thread activating its own band;
// panels (may be null): weight in row panels, read by few_rows_part.
template <typename T>
void dense_act_forward(PartFn<T> part, PartFn<T> few, ActFn<T> activate, T* z, T* a,
                       const T* inp, const T* weight, const T* bias, int64_t B, int64_t C,
                       int64_t OC, Act act, const T* panels) {
    Product<T> P{z, OC, {inp, C, 1}, {weight, OC, 1}, bias, Init::row, B, OC, C, a, act, activate,
                 nullptr, panels};
    P.few = few;
    product<T>(P, part);
}

// As kernels.h: dweight += inp^T @ dout; dbias += column sums of dout;
// dinp += dout @ weight^T (skipped when dinp is null); or = for all three
// when not accumulate, where the products start their sums at 0 instead of
// reading C, and nothing is zeroed beforehand.
template <typename T>
void dense_backward(PartFn<T> part, T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                    const T* weight, int64_t B, int64_t C, int64_t OC, bool accumulate) {
    const Init init = accumulate ? Init::accumulate : Init::zero;
    for (int64_t j = 0; j < OC && !accumulate; j++) dbias[j] = T(0);
    for (int64_t b = 0; b < B; b++) {
        const T* d = dout + b * OC;
        for (int64_t j = 0; j < OC; j++) dbias[j] += d[j];
    }
    // dweight (C, OC): A = inp^T, element (c, b) at inp[b * C + c]
    product<T>({dweight, OC, {inp, 1, C}, {dout, OC, 1}, nullptr, init, C, OC, B}, part);
    if (dinp != nullptr) {
        // dinp (B, C): B = weight^T, element (o, c) at weight[c * OC + o]
        product<T>({dinp, C, {dout, OC, 1}, {weight, 1, OC}, nullptr, init, B, C, OC}, part);
    }
}

}  // namespace fast
}  // namespace plainnet
