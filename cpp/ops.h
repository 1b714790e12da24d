// Every activation, loss and optimizer plainnet knows, each defined once.
//
// An activation is a struct with value(z) = f(z) and derivative(z, a) = f'(z)
// (given a = f(z), whichever is cheaper to use), plus one line in
// PLAINNET_ACTIVATIONS. That line gives it its enum value, its name and its
// place in visit(), which is how every kernel reaches the loop specialised
// for it. Its NumPy twin is a line of ACTIVATION_TABLE in
// python/plainnet/reference.py, and its name one of _layout.ACTIVATIONS.
// Losses and optimizers follow the same pattern: PLAINNET_LOSSES and
// LOSS_TABLE, PLAINNET_OPTIMIZERS and OPTIMIZER_TABLE.
//
// The math comes in as a policy M, so that one definition serves every kernel
// variant: kernels.h passes Libm (the C library's exp), fast.h passes a
// policy whose sigmoid uses a vectorisable exp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace plainnet {

// ---------------------------------------------------------------- tables

#if defined(_MSC_VER) && !defined(__clang__)
#define PLAINNET_UNREACHABLE() __assume(0)
#else
#define PLAINNET_UNREACHABLE() __builtin_unreachable()
#endif

#define PLAINNET_TABLE_ENUM(name, Op) name,
#define PLAINNET_TABLE_NAME(name, Op) #name,
#define PLAINNET_TABLE_CASE(name, Op) \
    case decltype(e)::name: return f(Op{});

// From a table macro TABLE(X) of X(name, Struct) lines: enum class Enum, its
// names in enum order, and visit(e, f), which calls f(Struct{}) for e's line
// (the one switch over the table; every value comes from a parsed name).
#define PLAINNET_DEFINE_TABLE(Enum, Names, TABLE)                 \
    enum class Enum : int { TABLE(PLAINNET_TABLE_ENUM) };         \
    constexpr const char* Names[] = {TABLE(PLAINNET_TABLE_NAME)}; \
    template <typename F>                                         \
    inline decltype(auto) visit(Enum e, F&& f) {                  \
        switch (e) { TABLE(PLAINNET_TABLE_CASE) }                 \
        PLAINNET_UNREACHABLE();                                   \
    }

// ---------------------------------------------------------------- math policy

struct Libm {
    // 1 / (1 + exp(-z)) without overflow: exp only ever sees -|z|.
    template <typename T>
    static T sigmoid(T z) {
        T e = std::exp(-std::fabs(z));
        return z >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
    }
    // exp(x) for x <= 0 (softmax and cross-entropy subtract the row's maximum).
    template <typename T>
    static T exp_nonpositive(T x) {
        return std::exp(x);
    }
};

// log(1 + exp(z)) without overflow.
template <typename T>
inline T softplus(T z) {
    return std::fmax(z, T(0)) + std::log1p(std::exp(-std::fabs(z)));
}

// ---------------------------------------------------------------- activations

constexpr double kLeakySlope = 0.01;
constexpr double kGeluK = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kGeluC = 0.044715;

struct Linear {
    template <class M, typename T> static T value(T z) { return z; }
    template <class M, typename T> static T derivative(T, T) { return T(1); }
};

struct Sigmoid {
    template <class M, typename T> static T value(T z) { return M::sigmoid(z); }
    template <class M, typename T> static T derivative(T, T a) { return a * (T(1) - a); }
};

struct Tanh {
    template <class M, typename T> static T value(T z) { return std::tanh(z); }
    template <class M, typename T> static T derivative(T, T a) { return T(1) - a * a; }
};

struct Relu {
    template <class M, typename T> static T value(T z) { return z > T(0) ? z : T(0); }
    template <class M, typename T> static T derivative(T z, T) { return z > T(0) ? T(1) : T(0); }
};

struct LeakyRelu {
    template <class M, typename T> static T value(T z) { return z > T(0) ? z : T(kLeakySlope) * z; }
    template <class M, typename T> static T derivative(T z, T) {
        return z > T(0) ? T(1) : T(kLeakySlope);
    }
};

struct Elu {
    template <class M, typename T> static T value(T z) { return z > T(0) ? z : std::expm1(z); }
    template <class M, typename T> static T derivative(T z, T a) { return z > T(0) ? T(1) : a + T(1); }
};

struct Softplus {
    template <class M, typename T> static T value(T z) { return softplus(z); }
    template <class M, typename T> static T derivative(T z, T) { return M::sigmoid(z); }
};

// z * sigmoid(z), also called swish.
struct Silu {
    template <class M, typename T> static T value(T z) { return z * M::sigmoid(z); }
    template <class M, typename T> static T derivative(T z, T) {
        T s = M::sigmoid(z);
        return s * (T(1) + z * (T(1) - s));
    }
};

// The tanh approximation: 0.5 z (1 + tanh(u)) == z * sigmoid(2u), with
// u = sqrt(2/pi) (z + 0.044715 z^3). 2u is inf for huge |z|, which sigmoid
// handles. It uses libm's sigmoid in every variant.
struct Gelu {
    template <typename T> static T two_u(T z) { return T(2) * (T(kGeluK) * (z + T(kGeluC) * z * z * z)); }
    template <class M, typename T> static T value(T z) { return z * Libm::sigmoid(two_u(z)); }
    template <class M, typename T> static T derivative(T z, T) {
        T s = Libm::sigmoid(two_u(z));
        T t = s * (T(1) - s);
        // t == 0 once |z| is large; skip the product, which would be 0 * inf there.
        if (t == T(0)) return s;
        return s + z * T(2) * t * T(kGeluK) * (T(1) + T(3 * kGeluC) * z * z);
    }
};

// z * tanh(softplus(z)); f' = tanh(sp) + z * sigmoid(z) * (1 - tanh(sp)^2).
struct Mish {
    template <class M, typename T> static T value(T z) { return z * std::tanh(softplus(z)); }
    template <class M, typename T> static T derivative(T z, T) {
        T t = std::tanh(softplus(z));
        return t + z * M::sigmoid(z) * (T(1) - t * t);
    }
};

// ---------------------------------------------------------------- the activation table

#define PLAINNET_ACTIVATIONS(X) \
    X(linear, Linear)           \
    X(sigmoid, Sigmoid)         \
    X(tanh, Tanh)               \
    X(relu, Relu)               \
    X(leaky_relu, LeakyRelu)    \
    X(elu, Elu)                 \
    X(softplus, Softplus)       \
    X(silu, Silu)               \
    X(gelu, Gelu)               \
    X(mish, Mish)

PLAINNET_DEFINE_TABLE(Act, kActNames, PLAINNET_ACTIVATIONS)

// The elementwise loops every variant runs, one instantiation per activation.
// z (N), out (N): out = f(z)
template <class M, class Op, typename T>
inline void act_forward_loop(T* __restrict out, const T* __restrict z, int64_t N) {
    for (int64_t i = 0; i < N; i++) out[i] = Op::template value<M>(z[i]);
}

// dout (N), z (N), a = f(z) (N); dz (N): dz += dout * f'(z)
template <class M, class Op, typename T>
inline void act_backward_loop(T* __restrict dz, const T* __restrict dout, const T* __restrict z,
                              const T* __restrict a, int64_t N) {
    for (int64_t i = 0; i < N; i++) dz[i] += dout[i] * Op::template derivative<M>(z[i], a[i]);
}

template <class M, typename T>
inline void activate(T* out, const T* z, int64_t N, Act act) {
    visit(act, [&](auto op) { act_forward_loop<M, decltype(op)>(out, z, N); });
}

template <class M, typename T>
inline void activate_backward(T* dz, const T* dout, const T* z, const T* a, int64_t N, Act act) {
    visit(act, [&](auto op) { act_backward_loop<M, decltype(op)>(dz, dout, z, a, N); });
}

// ---------------------------------------------------------------- softmax
//
// The one row-wise activation: a = exp(z - max) / sum(exp(z - max)) over each
// row of K outputs. It is allowed on the output layer only, with the
// cross-entropy loss, whose gradient at z needs no softmax derivative; the
// network applies it after the last layer's elementwise pass (linear).

// std::fmax(a, b) without the call into libm that std::fmax costs here:
// the larger of the two, and the other one when one is NaN.
template <typename T>
inline T max_ignoring_nan(T a, T b) {
    return (b > a || a != a) ? b : a;
}

// z (B, K); a (B, K) = softmax of each row. a may be z. The exps of a row
// are one loop (which vectorises with a vectorisable exp) and their sum
// another, in order.
template <class M, typename T>
inline void softmax_rows(T* a, const T* z, int64_t B, int64_t K) {
    for (int64_t b = 0; b < B; b++) {
        const T* zr = z + b * K;
        T* ar = a + b * K;
        T mx = zr[0];
        for (int64_t k = 1; k < K; k++) mx = max_ignoring_nan(mx, zr[k]);
        for (int64_t k = 0; k < K; k++) ar[k] = M::exp_nonpositive(zr[k] - mx);
        T s = T(0);
        for (int64_t k = 0; k < K; k++) s += ar[k];
        for (int64_t k = 0; k < K; k++) ar[k] /= s;
    }
}

// ---------------------------------------------------------------- losses
//
// A loss is a struct with
//   forward<M>(z, a, y, B, K): the reported loss, summed in double whatever T is,
//     from the output layer's pre-activation z (B, K), its activation a and
//     the targets y;
//   backward(d, z, a, y, B, K): accumulates the gradient of the trained
//     objective E, with respect to a when at_z is false (the network then
//     applies the output activation's derivative), with respect to z when
//     at_z is true;
// plus one line in PLAINNET_LOSSES.

// d (B, K) += (a - y) / B: the output error both MSE (with respect to a)
// and binary cross-entropy (with respect to z) train on.
template <typename T>
inline void residual_over_rows(T* d, const T* a, const T* y, int64_t B, int64_t K) {
    T inv_b = T(1) / T(B);
    int64_t N = B * K;
    for (int64_t i = 0; i < N; i++) d[i] += (a[i] - y[i]) * inv_b;
}

// Reported: the mean over all B*K elements of (a - y)^2. Trained: the
// gradient of E = 1/(2B) * sum (a - y)^2, the tutorial's convention,
// d += (a - y) / B with respect to a.
struct Mse {
    static constexpr bool at_z = false;
    template <class M, typename T>
    static double forward(const T*, const T* a, const T* y, int64_t B, int64_t K) {
        double s = 0.0;
        int64_t N = B * K;
        for (int64_t i = 0; i < N; i++) {
            double d = double(a[i] - y[i]);
            s += d * d;
        }
        return s / double(N);
    }
    template <typename T>
    static void backward(T* d, const T*, const T* a, const T* y, int64_t B, int64_t K) {
        residual_over_rows(d, a, y, B, K);
    }
};

// For a sigmoid output a = sigmoid(z) and targets y in [0, 1]:
// E = -1/B sum [y log a + (1 - y) log(1 - a)] = 1/B sum [softplus(z) - y z],
// finite however saturated a is; dE/dz = (a - y) / B.
struct BinaryCrossEntropy {
    static constexpr bool at_z = true;
    template <class M, typename T>
    static double forward(const T* z, const T*, const T* y, int64_t B, int64_t K) {
        double s = 0.0;
        int64_t N = B * K;
        for (int64_t i = 0; i < N; i++) {
            double zi = double(z[i]);
            s += softplus(zi) - double(y[i]) * zi;
        }
        return s / double(B);
    }
    template <typename T>
    static void backward(T* dz, const T*, const T* a, const T* y, int64_t B, int64_t K) {
        residual_over_rows(dz, a, y, B, K);
    }
};

// For a softmax output and target rows y (probabilities):
// E = -1/B sum_b sum_k y log a = 1/B sum_b sum_k y_k (logsumexp(z_b) - z_k),
// finite for any finite z; dE/dz = (a * sum_k y_k - y) / B, which is
// (a - y) / B for rows that sum to 1.
struct CrossEntropy {
    static constexpr bool at_z = true;
    template <class M, typename T>
    static double forward(const T* z, const T*, const T* y, int64_t B, int64_t K) {
        constexpr int64_t kBlock = 16;  // exps computed a block at a time, then summed in order
        double s = 0.0, ex[kBlock];
        for (int64_t b = 0; b < B; b++) {
            const T* zr = z + b * K;
            const T* yr = y + b * K;
            double mx = double(zr[0]);
            for (int64_t k = 1; k < K; k++) mx = max_ignoring_nan(mx, double(zr[k]));
            double e = 0.0;
            for (int64_t k0 = 0; k0 < K; k0 += kBlock) {
                const int64_t n = std::min(kBlock, K - k0);
                for (int64_t k = 0; k < n; k++) ex[k] = M::exp_nonpositive(double(zr[k0 + k]) - mx);
                for (int64_t k = 0; k < n; k++) e += ex[k];
            }
            double lse = mx + std::log(e);
            for (int64_t k = 0; k < K; k++) s += double(yr[k]) * (lse - double(zr[k]));
        }
        return s / double(B);
    }
    template <typename T>
    static void backward(T* dz, const T*, const T* a, const T* y, int64_t B, int64_t K) {
        T inv_b = T(1) / T(B);
        for (int64_t b = 0; b < B; b++) {
            const T* ar = a + b * K;
            const T* yr = y + b * K;
            T* dr = dz + b * K;
            T total = T(0);
            for (int64_t k = 0; k < K; k++) total += yr[k];
            for (int64_t k = 0; k < K; k++) dr[k] += (ar[k] * total - yr[k]) * inv_b;
        }
    }
};

#define PLAINNET_LOSSES(X)                        \
    X(mse, Mse)                                   \
    X(binary_cross_entropy, BinaryCrossEntropy)   \
    X(cross_entropy, CrossEntropy)

PLAINNET_DEFINE_TABLE(Loss, kLossNames, PLAINNET_LOSSES)

// The reported value of `loss` (see the structs above).
template <class M, typename T>
inline double loss_forward(const T* z, const T* a, const T* y, int64_t B, int64_t K, Loss loss) {
    return visit(loss, [&](auto op) { return decltype(op)::template forward<M>(z, a, y, B, K); });
}

// ---------------------------------------------------------------- optimizers
//
// An optimizer is a struct with `slots`, the number of state arrays it keeps
// (each as long as the parameters, zero before the first update), and
// update(p, s, p0, s0, g, N, o, t), the t-th update (t = 1, 2, ...): from
// parameters p0 and state s0[0..slots), with gradient g, it writes the new
// parameters to p and the new state to s. Inputs and outputs are separate
// arrays, so the caller still has the previous iterate after an update, and
// undoing one costs nothing (network.cpp's Updater). The rules are
// torch.optim's (CPU, foreach=False), so that a run can be checked against it
// step by step; weight decay applies to every parameter it is given, biases
// included, as in torch. Each has a line in PLAINNET_OPTIMIZERS and a twin in
// reference.py's OPTIMIZER_TABLE.

// The settings of every optimizer; each reads the ones it has. lr is passed
// with every update, so a schedule can change it between updates.
struct Optimizer {
    double lr = 0.1;
    double momentum = 0.0, weight_decay = 0.0;
    bool nesterov = false;
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    double eta_minus = 0.5, eta_plus = 1.2, step_min = 1e-6, step_max = 50.0;
};

// torch.optim.SGD (dampening 0): d = g + wd p; with momentum, buf = d at the
// first update, then buf = momentum buf + d; p -= lr (nesterov ? d + momentum buf : buf).
// Without momentum and weight decay it is plain gradient descent, p -= lr g.
struct Sgd {
    static constexpr int slots = 1;  // the momentum buffer
    static bool uses_state(const Optimizer& o) { return o.momentum != 0.0; }
    template <typename T>
    static void update(T* __restrict p, T* const* s, const T* __restrict p0, const T* const* s0,
                       const T* __restrict g, int64_t N, const Optimizer& o, int64_t t) {
        const T lr = T(o.lr), wd = T(o.weight_decay), mu = T(o.momentum);
        if (mu == T(0) && wd == T(0)) {
            for (int64_t i = 0; i < N; i++) p[i] = p0[i] - lr * g[i];
            return;
        }
        if (mu == T(0)) {
            for (int64_t i = 0; i < N; i++) p[i] = p0[i] - lr * (g[i] + wd * p0[i]);
            return;
        }
        T* __restrict buf = s[0];
        const T* __restrict buf0 = s0[0];
        const bool first = t == 1, nesterov = o.nesterov;
        for (int64_t i = 0; i < N; i++) {
            T d = g[i] + wd * p0[i];
            T b = first ? d : mu * buf0[i] + d;
            buf[i] = b;
            p[i] = p0[i] - lr * (nesterov ? d + mu * b : b);
        }
    }
};

// torch.optim.Adam (Decoupled false: g += wd p) and AdamW (true: p *= 1 - lr wd):
// m += (1 - beta1)(g - m); v = beta2 v + (1 - beta2) g^2;
// p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
template <bool Decoupled>
struct AdamRule {
    static constexpr int slots = 2;  // m, v
    static bool uses_state(const Optimizer&) { return true; }
    template <typename T>
    static void update(T* __restrict p, T* const* s, const T* __restrict p0, const T* const* s0,
                       const T* __restrict g, int64_t N, const Optimizer& o, int64_t t) {
        T* __restrict m = s[0];
        T* __restrict v = s[1];
        const T* __restrict m0 = s0[0];
        const T* __restrict v0 = s0[1];
        const double bc1 = 1.0 - std::pow(o.beta1, double(t));
        const double bc2 = 1.0 - std::pow(o.beta2, double(t));
        const T neg_step = T(-(o.lr / bc1)), bc2_sqrt = T(std::sqrt(bc2));
        const T one_b1 = T(1.0 - o.beta1), b2 = T(o.beta2), one_b2 = T(1.0 - o.beta2);
        const T eps = T(o.eps), wd = T(o.weight_decay), shrink = T(1.0 - o.lr * o.weight_decay);
        for (int64_t i = 0; i < N; i++) {
            T gi = g[i], pi = p0[i];
            if (Decoupled) {
                pi *= shrink;
            } else {
                gi += wd * pi;
            }
            T mi = m0[i] + one_b1 * (gi - m0[i]);
            T vi = v0[i] * b2 + one_b2 * (gi * gi);
            m[i] = mi;
            v[i] = vi;
            T denom = std::sqrt(vi) / bc2_sqrt + eps;
            p[i] = pi + neg_step * (mi / denom);
        }
    }
};
struct Adam : AdamRule<false> {};
struct AdamW : AdamRule<true> {};

// torch.optim.Rprop (iRprop-): each parameter has its own step size (lr at
// first), grown by eta_plus while the gradient keeps its sign and shrunk by
// eta_minus when it flips, within [step_min, step_max]; after a flip the
// gradient counts as 0 (no move, no flip next time). p -= sign(g) step.
struct Rprop {
    static constexpr int slots = 2;  // previous gradient, step size
    static bool uses_state(const Optimizer&) { return true; }
    template <typename T>
    static void update(T* __restrict p, T* const* s, const T* __restrict p0, const T* const* s0,
                       const T* __restrict g, int64_t N, const Optimizer& o, int64_t t) {
        T* __restrict prev = s[0];
        T* __restrict step = s[1];
        const T* __restrict prev0 = s0[0];
        const T* __restrict step0 = s0[1];
        const T up = T(o.eta_plus), down = T(o.eta_minus), lo = T(o.step_min), hi = T(o.step_max);
        const T lr = T(o.lr);
        const bool first = t == 1;
        // One select per line, so that the loop has no branches and vectorises.
        for (int64_t i = 0; i < N; i++) {
            T sign = g[i] * prev0[i];
            T factor = sign > T(0) ? up : T(1);
            factor = sign < T(0) ? down : factor;
            T grown = (first ? lr : step0[i]) * factor;  // clamped as torch.clamp does, NaN kept
            grown = grown < lo ? lo : grown;
            grown = grown > hi ? hi : grown;
            step[i] = grown;
            T gi = sign < T(0) ? T(0) : g[i];
            T dir = gi > T(0) ? T(1) : T(0);
            dir = gi < T(0) ? T(-1) : dir;
            p[i] = p0[i] - dir * grown;
            prev[i] = gi;
        }
    }
};

#define PLAINNET_OPTIMIZERS(X) \
    X(sgd, Sgd)                \
    X(adam, Adam)              \
    X(adamw, AdamW)            \
    X(rprop, Rprop)

PLAINNET_DEFINE_TABLE(Optim, kOptimNames, PLAINNET_OPTIMIZERS)

// The state arrays `kind` keeps, and whether it reads them with settings o
// (SGD without momentum does not).
inline int optimizer_slots(Optim kind) {
    return visit(kind, [](auto op) { return decltype(op)::slots; });
}
inline bool optimizer_uses_state(Optim kind, const Optimizer& o) {
    return visit(kind, [&](auto op) { return decltype(op)::uses_state(o); });
}

// Whether no p[i] is NaN or +-Inf: one pass without an early exit, which
// vectorises.
template <typename T>
inline bool all_finite(const T* p, int64_t N) {
    int bad = 0;
    for (int64_t i = 0; i < N; i++) bad |= !(std::fabs(p[i]) <= std::numeric_limits<T>::max());
    return bad == 0;
}

// Elements per block of optimizer_update: each block's new parameters are
// checked while they are still in L1.
constexpr int64_t kUpdateBlock = 1024;

// The t-th update of `kind` from (p0, s0) into (p, s) (see the structs
// above) on elements [i0, i1); returns whether every new parameter there is
// finite. The update and the check go block by block, so the check reads
// what the update just wrote from L1 rather than the whole array again.
template <typename T>
inline bool optimizer_update_range(T* p, T* const* s, const T* p0, const T* const* s0,
                                   const T* g, int64_t i0, int64_t i1, Optim kind,
                                   const Optimizer& o, int64_t t) {
    return visit(kind, [&](auto op) {
        using Op = decltype(op);
        constexpr int slots = Op::slots;
        T* sb[slots];
        const T* s0b[slots];
        bool finite = true;
        for (int64_t i = i0; i < i1; i += kUpdateBlock) {
            const int64_t n = std::min(kUpdateBlock, i1 - i);
            // A rule that keeps no state (SGD without momentum) may get null state arrays.
            for (int k = 0; k < slots; k++) {
                sb[k] = s[k] == nullptr ? nullptr : s[k] + i;
                s0b[k] = s0[k] == nullptr ? nullptr : s0[k] + i;
            }
            Op::update(p + i, sb, p0 + i, s0b, g + i, n, o, t);
            finite &= all_finite(p + i, n);
        }
        return finite;
    });
}

// The whole update, in one thread; returns whether every new parameter is finite.
template <typename T>
inline bool optimizer_update(T* p, T* const* s, const T* p0, const T* const* s0, const T* g,
                             int64_t N, Optim kind, const Optimizer& o, int64_t t) {
    return optimizer_update_range(p, s, p0, s0, g, 0, N, kind, o, t);
}

}  // namespace plainnet
