// Every activation and loss plainnet knows, each defined once.
//
// An activation is a struct with value(z) = f(z) and derivative(z, a) = f'(z)
// (given a = f(z), whichever is cheaper to use), plus one line in
// PLAINNET_ACTIVATIONS. That line gives it its enum value, its name and its
// place in visit(), which is how every kernel reaches the loop specialised
// for it. Its NumPy twin is a line of ACTIVATION_TABLE in
// python/plainnet/reference.py, and its name one of _layout.ACTIVATIONS.
// Losses follow the same pattern with PLAINNET_LOSSES and LOSS_TABLE.
//
// The math comes in as a policy M, so that one definition serves every kernel
// variant: kernels.h passes Libm (the C library's exp), fast.h passes a
// policy whose sigmoid uses a vectorisable exp.
#pragma once

#include <cmath>
#include <cstdint>

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

// 1 / (1 + exp(-z)) without overflow: exp only ever sees -|z|.
struct Libm {
    template <typename T>
    static T sigmoid(T z) {
        T e = std::exp(-std::fabs(z));
        return z >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
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

// ---------------------------------------------------------------- losses
//
// A loss is a struct with forward(pred, target, B, K), the reported loss
// summed in double whatever T is, and backward(dpred, pred, target, B, K),
// which accumulates dE/dpred, plus one line in PLAINNET_LOSSES.

// Reported: the mean over all B*K elements of (pred - target)^2. Trained: the
// gradient of E = 1/(2B) * sum (pred - target)^2, the tutorial's convention,
// dpred += (pred - target) / B.
struct Mse {
    template <typename T>
    static double forward(const T* pred, const T* target, int64_t B, int64_t K) {
        double s = 0.0;
        int64_t N = B * K;
        for (int64_t i = 0; i < N; i++) {
            double d = double(pred[i] - target[i]);
            s += d * d;
        }
        return s / double(N);
    }
    template <typename T>
    static void backward(T* dpred, const T* pred, const T* target, int64_t B, int64_t K) {
        T inv_b = T(1) / T(B);
        int64_t N = B * K;
        for (int64_t i = 0; i < N; i++) dpred[i] += (pred[i] - target[i]) * inv_b;
    }
};

#define PLAINNET_LOSSES(X) X(mse, Mse)

PLAINNET_DEFINE_TABLE(Loss, kLossNames, PLAINNET_LOSSES)

// ---------------------------------------------------------------- update

// params (N), grads (N): params -= lr * grads
template <typename T>
inline void sgd_update(T* __restrict params, const T* __restrict grads, T lr, int64_t N) {
    for (int64_t i = 0; i < N; i++) params[i] -= lr * grads[i];
}

}  // namespace plainnet
