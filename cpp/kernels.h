// plainnet kernels: forward/backward pairs written as plain loops.
//
// Conventions (after llm.c): outputs first, then inputs, then sizes; row-major
// arrays; sizes are int64_t. Backward kernels ACCUMULATE (+=) into their
// gradient outputs, so the caller zeroes gradients once before a backward pass;
// dense_backward can also overwrite them (accumulate false), which saves the
// fast kernels a pass over the gradients to zero them and reading them back.
// Kernels never allocate, hold no state and never check user input (the
// Python layer does that, and the bindings guard direct calls). Every kernel
// has a NumPy twin of the same name in python/plainnet/reference.py. The
// activations (activate and activate_backward with the Libm policy), the
// losses and the update are written once, in ops.h, for this file's plain
// variant and fast.h's alike.
#pragma once

#include <cstdint>

#include "ops.h"

namespace plainnet {

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
// dinp may be null (the first layer needs no input gradient). With accumulate
// false the three are overwritten instead: exactly as if zeroed first.
template <typename T>
void dense_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                    int64_t B, int64_t C, int64_t OC, bool accumulate) {
    if (!accumulate) {
        for (int64_t i = 0; i < C * OC; i++) dweight[i] = T(0);
        for (int64_t j = 0; j < OC; j++) dbias[j] = T(0);
        for (int64_t i = 0; dinp != nullptr && i < B * C; i++) dinp[i] = T(0);
    }
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

}  // namespace plainnet
