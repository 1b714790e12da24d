// Which compiled version of the kernels runs.
//
// The kernels are compiled several times: "naive" (the plain loops of
// kernels.h, the reference the others are tested against), "baseline" (the
// fast kernels of fast.h for any x86-64 CPU, or for any CPU elsewhere), and,
// on x86-64 with GCC or Clang, "avx2" (x86-64-v3: AVX2 + FMA) and "avx512"
// (x86-64-v4). At load time the best one this CPU supports is chosen;
// set_variant() picks another (the tests run every one).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels.h"

namespace plainnet {

template <typename T>
struct Kernels {
    const char* name;
    void (*dense_forward)(T* out, const T* inp, const T* weight, const T* bias, int64_t B,
                          int64_t C, int64_t OC);
    void (*dense_backward)(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                           const T* weight, int64_t B, int64_t C, int64_t OC, bool accumulate);
    void (*activation_forward)(T* out, const T* z, int64_t N, Act act);
    // dense_forward into z, then activation_forward into a, fused. panels
    // (may be null): weight's copy in row panels row_panel wide (fast.h), which
    // a product of a few rows reads instead of weight.
    void (*dense_act_forward)(T* z, T* a, const T* inp, const T* weight, const T* bias, int64_t B,
                              int64_t C, int64_t OC, Act act, const T* panels);
    void (*activation_backward)(T* dz, const T* dout, const T* z, const T* a, int64_t N, Act act);
    // a (B, K) = the softmax of each row of z (ops.h).
    void (*softmax)(T* a, const T* z, int64_t B, int64_t K);
    // The reported value of `loss` (ops.h) on the output layer's z and a.
    double (*loss_forward)(const T* z, const T* a, const T* y, int64_t B, int64_t K, Loss loss);
    // The t-th update of optimizer `kind` (ops.h) from params0 and state0
    // into params and state (separate arrays); each state has its slots.
    // Returns whether every new parameter is finite.
    bool (*optimizer_update)(T* params, T* const* state, const T* params0, const T* const* state0,
                             const T* grads, int64_t N, Optim kind, const Optimizer& o, int64_t t);
    // The width of the row panels dense_act_forward reads; 0: it reads none.
    int64_t row_panel;
};

// The kernels in use now.
template <typename T>
const Kernels<T>& kernels();

// Every variant compiled into this build, and those this CPU can run.
std::vector<std::string> compiled_variants();
std::vector<std::string> supported_variants();
std::string current_variant();
// Throws std::invalid_argument for a name not compiled in or not supported here.
void set_variant(const std::string& name);

// Compiler and flags of this build, for benchmark reports.
std::string compiler_description();

}  // namespace plainnet
