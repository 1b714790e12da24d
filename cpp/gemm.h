// The matrix product behind every dense layer, blocked for registers and cache.
//
//   C (M, N) = init + A (M, K) @ B (K, N)
//
// A and B are read through strides, so the same routine computes all three
// products of a layer (forward, weight gradient, input gradient) without
// transposing anything in memory. It follows the classic blocked scheme
// (Goto & van de Geijn): copy a KC x NC block of B and an MC x KC block of A
// into small contiguous panels, then a register-resident MR x NR tile of C
// takes one FMA per element per k. Everything is plain loops with sizes known
// at compile time, which the compiler turns into vector instructions.
//
// Every element of C is summed in the same order as the plain loop
// `c = init; for k: c += a[k] * b[k]`, whatever the blocking or the thread
// that computes it, so results do not depend on alignment, on how the work is
// split between threads, or on the size of the surrounding matrix.
#pragma once

#include <algorithm>
#include <cstdint>

namespace plainnet {
namespace gemm {

// A strided view: element (i, k) is at p[i * rs + k * cs].
template <typename T>
struct View {
    const T* p;
    int64_t rs, cs;
    const T& at(int64_t i, int64_t k) const { return p[i * rs + k * cs]; }
};

// Cache blocking: a KC x NR panel of B stays in L1, an MC x KC block of A in L2.
// K is cut in blocks of equal depth up to KC (see blocked).
constexpr int64_t KC = 256;
constexpr int64_t MC = 96;
constexpr int64_t NC = 1024;

// The register tile: acc (MR x NR) += panel_a (kc x MR) outer panel_b (kc x NR),
// where row k of panel_a starts at pa + k * lda and row k of panel_b at
// pb + k * ldb: lda = MR and ldb = NR for packed panels, the operand's own
// stride when it is read where it lies (see blocked).
// Element (i, j) of the tile lives at c[i * ldc + j], or at c[j * ldc + i]
// when CT (the caller computes the transpose of its product, see blocked).
//
// The shape of the k loop decides the code. Each row i takes a[i] once and
// runs a j loop that is left rolled (unroll 1) so that the loop vectoriser
// takes it: per k, NR / width vector loads of b, MR broadcasts of a[i] from
// memory and MR * NR / width FMAs into accumulators that stay in registers.
// Unrolling both i and j by hand instead hands the tile to the basic-block
// vectoriser, which (GCC 12) loaded a[0..3] as one vector and spread it with
// shuffles, and permuted every b vector: six shuffles per eight FMAs, about
// 18 GFLOP/s in double on an AVX2 core whose FMAs allow ~45. NR is kept to
// two vectors: GCC 12 peels a j loop of two vector iterations into straight
// code, but keeps one of four as a loop, and then holds the accumulators in
// memory (see cpp/variants/avx512.cpp).
//
// With `zero`, the sums start at 0 instead of at C (C is only written).
// With RA, A is read row by row where it lies: element (i, k) of the tile's
// rows at pa[i * lda + k] (see blocked).
template <typename T, int MR, int NR, bool CT, bool RA = false>
inline void micro_tile(int64_t kc, const T* __restrict pa, int64_t lda, const T* __restrict pb,
                       int64_t ldb, T* __restrict c, int64_t ldc, bool zero) {
    T acc[MR][NR];
    if (zero) {
#pragma GCC unroll 64
        for (int i = 0; i < MR; i++)
#pragma GCC unroll 64
            for (int j = 0; j < NR; j++) acc[i][j] = T(0);
    } else {
#pragma GCC unroll 64
        for (int i = 0; i < MR; i++)
#pragma GCC unroll 64
            for (int j = 0; j < NR; j++) acc[i][j] = CT ? c[j * ldc + i] : c[i * ldc + j];
    }
    for (int64_t k = 0; k < kc; k++) {
        const T* a = RA ? pa + k : pa + k * lda;
        const T* b = pb + k * ldb;
#pragma GCC unroll 64
        for (int i = 0; i < MR; i++) {
            const T ai = RA ? a[i * lda] : a[i];
#pragma GCC unroll 1
            for (int j = 0; j < NR; j++) acc[i][j] += ai * b[j];
        }
    }
#pragma GCC unroll 64
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 64
        for (int j = 0; j < NR; j++) (CT ? c[j * ldc + i] : c[i * ldc + j]) = acc[i][j];
}

// Copies rows [i0, i0+mc) x cols [k0, k0+kc) of A into panels of MR rows,
// each stored k-major (kc x MR); rows past M are zero.
template <typename T, int MR>
inline void pack_a(T* dst, View<T> A, int64_t i0, int64_t mc, int64_t k0, int64_t kc, int64_t M) {
    for (int64_t ir = 0; ir < mc; ir += MR) {
        int64_t rows = std::min<int64_t>(MR, M - (i0 + ir));
        T* d0 = dst + ir * kc;
        if (rows == MR) {
            // A whole panel: MR rows read side by side, MR known here.
            const T* s = &A.at(i0 + ir, k0);
            for (int64_t k = 0; k < kc; k++) {
#pragma GCC unroll 64
                for (int i = 0; i < MR; i++) d0[k * MR + i] = s[i * A.rs + k * A.cs];
            }
            continue;
        }
        for (int64_t k = 0; k < kc; k++) {
            T* d = d0 + k * MR;
            for (int64_t i = 0; i < rows; i++) d[i] = A.at(i0 + ir + i, k0 + k);
            for (int64_t i = rows; i < MR; i++) d[i] = T(0);
        }
    }
}

// Copies rows [k0, k0+kc) x cols [j0, j0+nc) of B into panels of NR columns,
// each stored k-major (kc x NR); columns past N are zero.
template <typename T, int NR>
inline void pack_b(T* dst, View<T> B, int64_t k0, int64_t kc, int64_t j0, int64_t nc, int64_t N) {
    if (B.cs == 1) {
        // B row-major: the whole panels row by row, each row's elements read
        // in order. (Panel by panel, the reads jumped a row's length at every
        // step and took 10 % of a 64 x 784 x 128 product on one core.)
        const int64_t whole = std::min(nc, N - j0) / NR * NR;
        for (int64_t k = 0; k < kc; k++) {
            const T* s = &B.at(k0 + k, j0);
            for (int64_t jr = 0; jr < whole; jr += NR) {
                T* d = dst + jr * kc + k * NR;
                for (int j = 0; j < NR; j++) d[j] = s[jr + j];
            }
        }
        if (whole == nc) return;
        dst += whole * kc;  // the partial panel, below
        j0 += whole;
        nc -= whole;
    }
    for (int64_t jr = 0; jr < nc; jr += NR) {
        int64_t cols = std::min<int64_t>(NR, N - (j0 + jr));
        T* d0 = dst + jr * kc;
        if (B.rs == 1) {
            // B is the transpose of a row-major matrix: read along its rows.
            for (int64_t j = 0; j < cols; j++) {
                const T* s = &B.at(k0, j0 + jr + j);
                for (int64_t k = 0; k < kc; k++) d0[k * NR + j] = s[k];
            }
            for (int64_t k = 0; k < kc; k++)
                for (int64_t j = cols; j < NR; j++) d0[k * NR + j] = T(0);
        } else {
            for (int64_t k = 0; k < kc; k++) {
                T* d = d0 + k * NR;
                for (int64_t j = 0; j < cols; j++) d[j] = B.at(k0 + k, j0 + jr + j);
                for (int64_t j = cols; j < NR; j++) d[j] = T(0);
            }
        }
    }
}

// Sizes of the packing buffers one call needs (elements).
template <int MR, int NR>
constexpr int64_t pack_a_size() { return MC * KC + MR * KC; }
template <int MR, int NR>
constexpr int64_t pack_b_size() { return NC * KC + NR * KC; }

// An operand this small (bytes) is read where it lies when its layout
// allows, instead of being packed: for the products of a small network, a
// digits-sized mini-batch's say, packing cost about as much as the
// multiply-adds, and such an operand stays in L1/L2 as it is.
constexpr int64_t kDirectBytes = 64 * 1024;

// A row-major A (A.cs == 1) is read where it lies too, row by row, when B has
// at most this many panels: packing A costs a load and a store per element,
// which only the products of so few panels fail to repay (a sixteenth of a
// 10,000-row predict at 784-128-10 in float32). Over more panels, packed A
// was faster (7 % at 784-512-512-10 in float64).
constexpr int64_t kRowsAPanels = 8;

// C (M, N) += A (M, K) @ B (K, N), or = when `zero` (C is then never read);
// C row-major with leading dimension ldc, or, when CT, C's transpose is (so
// C (i, j) is at c[j * ldc + i]). pa, pb: scratch of pack_a_size /
// pack_b_size elements.
//
// A small A stored k-major (A.rs == 1: MR consecutive rows of a column are
// side by side, the layout of a packed panel) and a small B stored row-major
// (B.cs == 1) are read in place; only their partial edge panels are packed,
// with zeros past the edge. So is a row-major A when B has few panels
// (kRowsAPanels). Either way every element's sum runs over k in the same
// order, so the results are the same.
// K in blocks of (nearly) equal depth, at most KC: no thin last block
// whose tiles would load and store C for a few k only.
inline int64_t k_block(int64_t K) {
    return K <= 0 ? KC : (K + (K + KC - 1) / KC - 1) / ((K + KC - 1) / KC);
}

// B packed whole, for products whose threads share one copy of it: K's
// blocks one after the other, each block's panels of all N columns side by
// side, so the panel of columns [j, j + NR) of the block starting at k0
// (depth kc) is at k0 * npad + j * kc, npad being N rounded up to whole panels.
template <typename T>
struct PackedB {
    const T* p;
    int64_t npad;
};

// blocked below, with rows_a fixed at compile time: its two loops are kept
// apart, so that the packed one compiles exactly as it did without the other
// (sharing one body cost 4 % of a 256 x 784 x 128 product in double).
template <typename T, int MR, int NR, bool CT, bool rows_a>
void blocked_as(T* c, int64_t ldc, View<T> A, View<T> B, int64_t M, int64_t N, int64_t K, T* pa,
                T* pb, bool zero, PackedB<T> packed, bool direct_a, bool direct_b) {
    T edge[MR * NR];
    const int64_t kc_even = k_block(K);
    for (int64_t j0 = 0; j0 < N; j0 += NC) {
        int64_t nc = std::min(NC, N - j0);
        for (int64_t k0 = 0; k0 < K; k0 += kc_even) {
            int64_t kc = std::min(kc_even, K - k0);
            const bool start = zero && k0 == 0;  // this block's sums start at 0
            if (packed.p != nullptr)
                pb = const_cast<T*>(packed.p) + k0 * packed.npad + j0 * kc;  // read only
            else if (!direct_b)
                pack_b<T, NR>(pb, B, k0, kc, j0, nc, N);
            for (int64_t i0 = 0; i0 < M; i0 += MC) {
                int64_t mc = std::min(MC, M - i0);
                const int64_t full_rows = mc / MR * MR;  // rows in whole panels
                if (!direct_a && !rows_a)
                    pack_a<T, MR>(pa, A, i0, mc, k0, kc, M);
                else if (full_rows < mc)  // the partial panel only
                    pack_a<T, MR>(pa, A, i0 + full_rows, mc - full_rows, k0, kc, M);
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    int64_t cols = std::min<int64_t>(NR, nc - jr);
                    const T* b = pb + jr * kc;
                    int64_t ldb = NR;
                    if (direct_b && cols == NR) {
                        b = &B.at(k0, j0 + jr);
                        ldb = B.rs;
                    } else if (direct_b) {  // the partial panel
                        pack_b<T, NR>(pb, B, k0, kc, j0 + jr, cols, N);
                        b = pb;
                    }
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        int64_t rows = std::min<int64_t>(MR, mc - ir);
                        int64_t i = i0 + ir, j = j0 + jr;
                        const T* a = pa + ir * kc;
                        int64_t lda = MR;
                        const bool by_rows = rows_a && rows == MR;
                        if (direct_a && rows == MR) {
                            a = &A.at(i, k0);
                            lda = A.cs;
                        } else if (by_rows) {
                            a = &A.at(i, k0);
                            lda = A.rs;
                        } else if (direct_a || rows_a) {
                            a = pa;
                        }
                        T* ct = CT ? c + j * ldc + i : c + i * ldc + j;
                        if (rows == MR && cols == NR) {
                            if (by_rows)
                                micro_tile<T, MR, NR, CT, true>(kc, a, lda, b, ldb, ct, ldc, start);
                            else
                                micro_tile<T, MR, NR, CT>(kc, a, lda, b, ldb, ct, ldc, start);
                            continue;
                        }
                        // A partial tile: run the full tile on a copy.
                        for (int64_t ii = 0; ii < MR; ii++)
                            for (int64_t jj = 0; jj < NR; jj++)
                                edge[ii * NR + jj] =
                                    ii < rows && jj < cols && !start
                                        ? (CT ? ct[jj * ldc + ii] : ct[ii * ldc + jj])
                                        : T(0);
                        if (by_rows)
                            micro_tile<T, MR, NR, false, true>(kc, a, lda, b, ldb, edge, NR, false);
                        else
                            micro_tile<T, MR, NR, false>(kc, a, lda, b, ldb, edge, NR, false);
                        for (int64_t ii = 0; ii < rows; ii++)
                            for (int64_t jj = 0; jj < cols; jj++)
                                (CT ? ct[jj * ldc + ii] : ct[ii * ldc + jj]) = edge[ii * NR + jj];
                    }
                }
            }
        }
    }
}

template <typename T, int MR, int NR, bool CT>
void blocked(T* c, int64_t ldc, View<T> A, View<T> B, int64_t M, int64_t N, int64_t K, T* pa,
             T* pb, bool zero, PackedB<T> packed = {nullptr, 0}) {
    const bool direct_a = A.rs == 1 && double(M) * double(K) * sizeof(T) <= kDirectBytes;
    const bool direct_b = packed.p == nullptr && B.cs == 1 &&
                          double(K) * double(N) * sizeof(T) <= kDirectBytes;
    if (!direct_a && A.cs == 1 && A.rs != 1 && N <= kRowsAPanels * NR)
        blocked_as<T, MR, NR, CT, true>(c, ldc, A, B, M, N, K, pa, pb, zero, packed, false,
                                        direct_b);
    else
        blocked_as<T, MR, NR, CT, false>(c, ldc, A, B, M, N, K, pa, pb, zero, packed, direct_a,
                                         direct_b);
}

}  // namespace gemm
}  // namespace plainnet
