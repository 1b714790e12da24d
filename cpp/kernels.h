// plainnet kernels: forward/backward pairs written as plain loops.
//
// Conventions (after llm.c): outputs first, then inputs, then sizes; row-major
// arrays; sizes are int64_t. Backward kernels ACCUMULATE (+=) into their
// gradient outputs, so the caller zeroes gradients once before a backward pass.
// Kernels never allocate, hold no state and never check user input (the
// binding layer does that). Every kernel has a NumPy twin of the same name in
// python/plainnet/reference.py.
#pragma once

#include <cmath>
#include <cstdint>

namespace plainnet {

// ---------------------------------------------------------------- activations

enum class Act : int {
    linear = 0,
    sigmoid,
    tanh,
    relu,
    leaky_relu,
    elu,
    softplus,
    silu,
    gelu,
};

constexpr double kLeakySlope = 0.01;
constexpr double kGeluK = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kGeluC = 0.044715;

// 1 / (1 + exp(-z)) without overflow: exp only ever sees -|z|.
template <typename T>
inline T sigmoid(T z) {
    T e = std::exp(-std::fabs(z));
    return z >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}

// 2u for GELU, u = sqrt(2/pi) (z + 0.044715 z^3); inf for huge |z|, which sigmoid handles.
template <typename T>
inline T gelu_2u(T z) {
    return T(2) * (T(kGeluK) * (z + T(kGeluC) * z * z * z));
}

// a = f(z)
template <typename T>
inline T act_value(Act act, T z) {
    switch (act) {
        case Act::linear: return z;
        case Act::sigmoid: return sigmoid(z);
        case Act::tanh: return std::tanh(z);
        case Act::relu: return z > T(0) ? z : T(0);
        case Act::leaky_relu: return z > T(0) ? z : T(kLeakySlope) * z;
        case Act::elu: return z > T(0) ? z : std::expm1(z);
        case Act::softplus: return std::fmax(z, T(0)) + std::log1p(std::exp(-std::fabs(z)));
        case Act::silu: return z * sigmoid(z);
        case Act::gelu:
            // tanh approximation: 0.5 z (1 + tanh(u)) == z * sigmoid(2u)
            return z * sigmoid(gelu_2u(z));
    }
    return z;
}

// f'(z), given z and a = f(z) (whichever is cheaper to use).
template <typename T>
inline T act_derivative(Act act, T z, T a) {
    switch (act) {
        case Act::linear: return T(1);
        case Act::sigmoid: return a * (T(1) - a);
        case Act::tanh: return T(1) - a * a;
        case Act::relu: return z > T(0) ? T(1) : T(0);
        case Act::leaky_relu: return z > T(0) ? T(1) : T(kLeakySlope);
        case Act::elu: return z > T(0) ? T(1) : a + T(1);
        case Act::softplus: return sigmoid(z);
        case Act::silu: {
            T s = sigmoid(z);
            return s * (T(1) + z * (T(1) - s));
        }
        case Act::gelu: {
            T s = sigmoid(gelu_2u(z));
            T t = s * (T(1) - s);
            // t == 0 once |z| is large; skip the product, which would be 0 * inf there.
            if (t == T(0)) return s;
            return s + z * T(2) * t * T(kGeluK) * (T(1) + T(3 * kGeluC) * z * z);
        }
    }
    return T(1);
}

// z (N), out (N): out = f(z)
template <typename T>
void activation_forward(T* out, const T* z, int64_t N, Act act) {
    for (int64_t i = 0; i < N; i++) out[i] = act_value(act, z[i]);
}

// dout (N), z (N), a = f(z) (N); dz (N): dz += dout * f'(z)
template <typename T>
void activation_backward(T* dz, const T* dout, const T* z, const T* a, int64_t N, Act act) {
    for (int64_t i = 0; i < N; i++) dz[i] += dout[i] * act_derivative(act, z[i], a[i]);
}

// ---------------------------------------------------------------- dense layer

// inp (B, C), weight (C, OC), bias (OC); out (B, OC): out = inp @ weight + bias
template <typename T>
void dense_forward(T* out, const T* inp, const T* weight, const T* bias,
                   int64_t B, int64_t C, int64_t OC) {
    for (int64_t b = 0; b < B; b++) {
        T* o = out + b * OC;
        for (int64_t j = 0; j < OC; j++) o[j] = bias[j];
        for (int64_t c = 0; c < C; c++) {
            T x = inp[b * C + c];
            const T* w = weight + c * OC;
            for (int64_t j = 0; j < OC; j++) o[j] += x * w[j];
        }
    }
}

// dout (B, OC), inp (B, C), weight (C, OC);
// dweight (C, OC) += inp^T @ dout; dbias (OC) += sum_b dout; dinp (B, C) += dout @ weight^T.
// dinp may be null (the first layer needs no input gradient).
template <typename T>
void dense_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                    int64_t B, int64_t C, int64_t OC) {
    for (int64_t b = 0; b < B; b++) {
        const T* d = dout + b * OC;
        for (int64_t j = 0; j < OC; j++) dbias[j] += d[j];
        for (int64_t c = 0; c < C; c++) {
            T x = inp[b * C + c];
            T* dw = dweight + c * OC;
            for (int64_t j = 0; j < OC; j++) dw[j] += x * d[j];
        }
        if (dinp != nullptr) {
            for (int64_t c = 0; c < C; c++) {
                const T* w = weight + c * OC;
                T s = T(0);
                for (int64_t j = 0; j < OC; j++) s += d[j] * w[j];
                dinp[b * C + c] += s;
            }
        }
    }
}

// ---------------------------------------------------------------- MSE loss

// pred (B, K), target (B, K) -> mean over all B*K elements of (pred - target)^2,
// summed in double whatever T is.
template <typename T>
double mse_forward(const T* pred, const T* target, int64_t B, int64_t K) {
    double s = 0.0;
    int64_t N = B * K;
    for (int64_t i = 0; i < N; i++) {
        double d = double(pred[i] - target[i]);
        s += d * d;
    }
    return s / double(N);
}

// pred (B, K), target (B, K); dpred (B, K) += (pred - target) / B:
// the gradient of E = 1/(2B) * sum (pred - target)^2, the tutorial's convention.
template <typename T>
void mse_backward(T* dpred, const T* pred, const T* target, int64_t B, int64_t K) {
    T inv_b = T(1) / T(B);
    int64_t N = B * K;
    for (int64_t i = 0; i < N; i++) dpred[i] += (pred[i] - target[i]) * inv_b;
}

// ---------------------------------------------------------------- update

// params (N), grads (N): params -= lr * grads
template <typename T>
void sgd_update(T* params, const T* grads, T lr, int64_t N) {
    for (int64_t i = 0; i < N; i++) params[i] -= lr * grads[i];
}

}  // namespace plainnet
