// The table of kernel variants and the choice of the one that runs. The naive
// variant is the plain loops of kernels.h, instantiated here; the fast ones
// are compiled in variants/ (one translation unit each, with the target
// attribute of its instruction set) and only listed here.
#include "dispatch.h"

#include <atomic>
#include <stdexcept>

#include "variants/tables.h"

namespace plainnet {

namespace variant_naive {
template <typename T>
void dense_act_forward(T* z, T* a, const T* inp, const T* w, const T* b, int64_t B, int64_t C,
                       int64_t OC, Act act, const T* /*panels: none, row_panel 0*/) {
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
                          optimizer_update<T>,
                          0};
}  // namespace variant_naive

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
