#include "network.h"

#include "dispatch.h"
#include "threads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace plainnet {

// a * b + c for 0 <= a, b and 0 <= c <= kMaxElements; -1 if that exceeds kMaxElements.
static int64_t checked_mad(int64_t a, int64_t b, int64_t c) {
    if (a != 0 && b > (kMaxElements - c) / a) return -1;
    return a * b + c;
}

template <typename E, int N>
static E from_name(const char* const (&names)[N], const char* what, const std::string& name) {
    std::string known;
    for (int i = 0; i < N; i++) {
        if (name == names[i]) return E(i);
        known += (i ? ", " : "") + std::string(names[i]);
    }
    throw std::invalid_argument("unknown " + std::string(what) + " '" + name +
                                "'; expected one of: " + known);
}

Act act_from_name(const std::string& name) { return from_name<Act>(kActNames, "activation", name); }
Loss loss_from_name(const std::string& name) { return from_name<Loss>(kLossNames, "loss", name); }
Optim optim_from_name(const std::string& name) {
    return from_name<Optim>(kOptimNames, "optimizer", name);
}

Monitor monitor_from_name(const std::string& name) {
    return from_name<Monitor>(kMonitorNames, "monitor", name);
}

// parse(name), its error message prefixed by the argument's name.
Sched schedule_from_name(const std::string& name) {
    return from_name<Sched>(kScheduleNames, "schedule", name);
}

template <typename E>
static E parse_arg(E (*parse)(const std::string&), const char* arg, const std::string& name) {
    try {
        return parse(name);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string(arg) + ": " + e.what());
    }
}

Layout Layout::from_names(std::vector<int64_t> sizes, const std::vector<std::string>& names,
                          const std::string& loss_name) {
    Loss loss = parse_arg(loss_from_name, "loss", loss_name);
    std::vector<Act> acts;
    bool softmax = false;
    for (size_t l = 0; l < names.size(); l++) {
        if (names[l] == kSoftmaxName) {
            if (l + 1 != names.size()) {
                throw std::invalid_argument("activations: softmax is allowed on the last layer "
                                            "only, got it at position " + std::to_string(l));
            }
            softmax = true;
            acts.push_back(Act::linear);
        } else {
            acts.push_back(parse_arg(act_from_name, "activations", names[l]));
        }
    }
    if (softmax != (loss == Loss::cross_entropy)) {
        throw std::invalid_argument("loss: cross_entropy goes with a softmax output layer and "
                                    "softmax with cross_entropy");
    }
    if (loss == Loss::binary_cross_entropy && (acts.empty() || acts.back() != Act::sigmoid)) {
        throw std::invalid_argument("loss: binary_cross_entropy needs a sigmoid output layer");
    }
    return Layout(std::move(sizes), std::move(acts), loss, softmax);
}

Layout::Layout(std::vector<int64_t> sizes_, std::vector<Act> acts_, Loss loss_, bool softmax_)
    : sizes(std::move(sizes_)), acts(std::move(acts_)), loss(loss_), softmax(softmax_) {
    if (sizes.size() < 2) {
        throw std::invalid_argument("layers: expected at least 2 sizes (inputs and outputs), got " +
                                    std::to_string(sizes.size()));
    }
    if (acts.size() != sizes.size() - 1) {
        throw std::invalid_argument("activations: expected " + std::to_string(sizes.size() - 1) +
                                    " (one per layer), got " + std::to_string(acts.size()));
    }
    for (size_t i = 0; i < sizes.size(); i++) {
        if (sizes[i] < 1 || sizes[i] > kMaxElements) {
            throw std::invalid_argument("layers: every size must be in [1, 2**62], got " +
                                        std::to_string(sizes[i]) + " at position " +
                                        std::to_string(i));
        }
        if (i > 0) max_width = std::max(max_width, sizes[i]);
    }
    for (size_t l = 0; l + 1 < sizes.size(); l++) {
        int64_t end = checked_mad(sizes[l] + 1, sizes[l + 1], num_params);  // W_l and b_l
        if (end < 0) {
            throw std::invalid_argument("layers: more than 2**62 parameters; got sizes " +
                                        std::to_string(sizes[l]) + " and " +
                                        std::to_string(sizes[l + 1]) + " at positions " +
                                        std::to_string(l) + ", " + std::to_string(l + 1));
        }
        num_params = end;
        w_off.push_back(num_params - (sizes[l] + 1) * sizes[l + 1]);
        b_off.push_back(num_params - sizes[l + 1]);
    }
}

Layout Layout::with_dropout(std::vector<double> rates) const {
    if (!rates.empty() && int64_t(rates.size()) != num_layers() - 1) {
        throw std::invalid_argument("dropout: expected " + std::to_string(num_layers() - 1) +
                                    " rates (one per hidden layer), got " +
                                    std::to_string(rates.size()));
    }
    for (size_t l = 0; l < rates.size(); l++) {
        if (!(rates[l] >= 0.0 && rates[l] < 1.0)) {
            throw std::invalid_argument("dropout: every rate must be in [0, 1), got " +
                                        std::to_string(rates[l]) + " at position " +
                                        std::to_string(l));
        }
    }
    Layout out = *this;
    out.dropout = std::move(rates);
    return out;
}

// Scratch memory for training on batches of up to `rows` rows, allocated
// once and reused every iteration: every layer's z and a (backward needs
// them all) and the gradients with respect to one layer's z and a. With
// dropout (training only), a hidden layer with a rate also has its units'
// multipliers (keep) and its output a * keep, which the next layer reads.
template <typename T>
struct Workspace {
    std::vector<T> z, a;       // pre-/post-activation of every layer, concatenated
    std::vector<T> dz, da;     // dE/dz_l and dE/da_l of the layer being processed
    std::vector<T*> zs, as;    // where layer l's z and a start
    std::vector<uint8_t> mask;       // dropout's masks (1: kept), concatenated
    std::vector<T> dropped;          // the outputs after dropout, concatenated
    std::vector<uint8_t*> masks;     // layer l's mask (null: no dropout there)
    std::vector<T*> outs;            // what the next layer reads: a * mask / (1 - p), or a
    bool dropout = false;            // whether any layer has a rate
    Workspace(const Layout& L, int64_t rows, bool training = false) {
        // rows x widths can exceed what int64 counts: report that as what it is, memory.
        std::vector<int64_t> off;
        int64_t total = 0;
        for (int64_t l = 0; l < L.num_layers(); l++) {
            off.push_back(total);
            total = checked_mad(rows, L.sizes[l + 1], total);
            if (total < 0) throw std::bad_alloc();
        }
        int64_t widest = checked_mad(rows, L.max_width, 0);
        if (widest < 0) throw std::bad_alloc();
        z.resize(total);
        a.resize(total);
        dz.resize(widest);
        da.resize(widest);
        for (int64_t o : off) {
            zs.push_back(z.data() + o);
            as.push_back(a.data() + o);
        }
        std::vector<int64_t> drop_off;
        int64_t dropped_total = 0;
        for (int64_t l = 0; l < L.num_layers(); l++) {
            drop_off.push_back(dropped_total);
            if (training && L.dropout_of(l) > 0.0)
                dropped_total = checked_mad(rows, L.sizes[l + 1], dropped_total);
            if (dropped_total < 0) throw std::bad_alloc();
        }
        dropout = dropped_total > 0;
        mask.resize(dropped_total);
        dropped.resize(dropped_total);
        for (int64_t l = 0; l < L.num_layers(); l++) {
            const bool has = training && L.dropout_of(l) > 0.0;
            masks.push_back(has ? mask.data() + drop_off[l] : nullptr);
            outs.push_back(has ? dropped.data() + drop_off[l] : as[l]);
        }
    }
};

static inline uint64_t mix64(uint64_t x) {
    // splitmix64's finaliser
    uint64_t z = x + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t dropout_stream(uint64_t seed, uint64_t epoch, uint64_t batch, uint64_t layer) {
    return mix64(mix64(mix64(mix64(seed ^ kDropoutSalt) ^ epoch) ^ batch) ^ layer);
}

// On x86-64 Linux GCC compiles the two loops of dropout below twice, and
// the loader picks the copy for the CPU (an ifunc, which glibc has): with
// AVX-512's 64-bit vector multiplies they take a third of the scalar loops'
// time. What they compute is integer arithmetic and exact products: every
// copy gives the same bits (the baseline-only builds, sanitized ones, run
// the tests on the default copy).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    defined(__GLIBC__) && !defined(PLAINNET_BASELINE_ONLY)
#define PLAINNET_DROPOUT_CLONES __attribute__((target_clones("default", "arch=x86-64-v4")))
#else
#define PLAINNET_DROPOUT_CLONES
#endif

// bits[2i] and bits[2i + 1]: the low and high halves of mix64(stream ^
// (first + i)), for i < k.
PLAINNET_DROPOUT_CLONES
static void dropout_bits(uint32_t* bits, uint64_t stream, uint64_t first, int64_t k) {
    for (int64_t i = 0; i < k; i++) {
        const uint64_t h = mix64(stream ^ (first + uint64_t(i)));
        bits[2 * i] = uint32_t(h);
        bits[2 * i + 1] = uint32_t(h >> 32);
    }
}

// A unit's multiplier, without a branch: 0 (kept = 0) or scale (kept = 1),
// scale's bits and'ed with all zeros or all ones. A branch on random bits,
// which compilers make of a ? : or of a product by a bool, was mispredicted
// for up to half the units: a third more time per epoch at p = 0.5 on
// digits-sized layers.
template <typename T>
struct Multiplier {
    using Bits = std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t>;
    static_assert(sizeof(Bits) == sizeof(T), "T is float or double");
    Bits scale_bits;
    explicit Multiplier(double p) {
        const T scale = T(1.0 / (1.0 - p));
        std::memcpy(&scale_bits, &scale, sizeof scale);
    }
    T operator()(uint32_t kept) const {
        const Bits v = scale_bits & (Bits(0) - Bits(kept));
        T k;
        std::memcpy(&k, &v, sizeof k);
        return k;
    }
};

// For u < n, unit u is kept when bits[u] >= below. With keep: its
// multiplier into keep[u]. Otherwise: mask[u] = 1 (kept) or 0 and out[u] =
// a[u] times the multiplier.
template <typename T>
static inline void dropout_from_bits(T* keep, uint8_t* mask, T* out, const T* a,
                                     const uint32_t* bits, int64_t n, uint32_t below,
                                     Multiplier<T> k) {
    if (keep != nullptr) {
        for (int64_t u = 0; u < n; u++) keep[u] = k(bits[u] >= below);
        return;
    }
    for (int64_t u = 0; u < n; u++) {
        const uint32_t kept = bits[u] >= below;
        mask[u] = uint8_t(kept);
        out[u] = a[u] * k(kept);
    }
}

PLAINNET_DROPOUT_CLONES
static void dropout_block(double* keep, uint8_t* mask, double* out, const double* a,
                          const uint32_t* bits, int64_t n, uint32_t below, Multiplier<double> k) {
    dropout_from_bits(keep, mask, out, a, bits, n, below, k);
}

PLAINNET_DROPOUT_CLONES
static void dropout_block(float* keep, uint8_t* mask, float* out, const float* a,
                          const uint32_t* bits, int64_t n, uint32_t below, Multiplier<float> k) {
    dropout_from_bits(keep, mask, out, a, bits, n, below, k);
}

// Dropout at rate p on n units of `stream`: with keep, their multipliers (0
// for a dropped unit, T(1 / (1 - p)) for a kept one); otherwise their mask
// into mask and a times the multipliers into out. Unit u is dropped when the
// 32 bits it takes (dropout_bits: the halves of hash u / 2) are below
// p * 2**32.
template <typename T>
static void dropout_apply(T* keep, uint8_t* mask, T* out, const T* a, int64_t n, double p,
                          uint64_t stream) {
    const uint32_t below = uint32_t(p * 4294967296.0);  // p < 1: below 2**32
    const Multiplier<T> k(p);
    constexpr int64_t kBlock = 512;  // units at a time: the bits stay in L1
    uint32_t bits[kBlock];
    for (int64_t u0 = 0; u0 < n; u0 += kBlock) {
        const int64_t units = std::min(kBlock, n - u0);
        dropout_bits(bits, stream, uint64_t(u0 / 2), (units + 1) / 2);
        if (keep != nullptr) {
            dropout_block(keep + u0, nullptr, nullptr, nullptr, bits, units, below, k);
        } else {
            dropout_block(static_cast<T*>(nullptr), mask + u0, out + u0, a + u0, bits, units,
                          below, k);
        }
    }
}

template <typename T>
void dropout_keep(T* keep, int64_t n, double p, uint64_t stream) {
    dropout_apply(keep, nullptr, static_cast<T*>(nullptr), static_cast<const T*>(nullptr), n, p,
                  stream);
}

// Training's dropout on one layer's output a (n units): its mask (1 byte a
// unit, for the backward pass) and a times the multipliers into out.
template <typename T>
static void dropout_forward(uint8_t* mask, T* out, const T* a, int64_t n, double p,
                            uint64_t stream) {
    dropout_apply(static_cast<T*>(nullptr), mask, out, a, n, p, stream);
}

// What dropout's masks are drawn from: (seed, epoch, batch).
struct MaskKey {
    uint64_t seed = 0, epoch = 0, batch = 0;
};

// Training's dropout in a forward pass: where each layer's mask goes (null:
// no dropout there) and its output after it, and the masks' key.
template <typename T>
struct Dropping {
    uint8_t* const* masks;
    T* const* outs;
    MaskKey key;
};

// forward and backward with the kernels of one variant (fit holds on to the
// variant it started with, whatever set_variant does meanwhile).
// With dropout (drop not null), a layer with a rate draws its mask into
// drop->masks[l] and passes a[l] times its multipliers, in drop->outs[l], to
// the next layer.
template <typename T>
static void forward_with(const Kernels<T>& k, const Layout& L, const T* params, const T* X,
                         int64_t m, T* const* z, T* const* a, Poller* poll = nullptr,
                         int64_t done = 0, const Dropping<T>* drop = nullptr) {
    const T* inp = X;
    for (int64_t l = 0; l < L.num_layers(); l++) {
        int64_t C = L.sizes[l], OC = L.sizes[l + 1];
        k.dense_act_forward(z[l], a[l], inp, params + L.w_off[l], params + L.b_off[l], m, C, OC,
                            L.acts[l], nullptr);
        inp = a[l];
        if (drop != nullptr && drop->masks[l] != nullptr) {
            const MaskKey& key = drop->key;
            dropout_forward(drop->masks[l], drop->outs[l], a[l], m * OC, L.dropout_of(l),
                            dropout_stream(key.seed, key.epoch, key.batch, uint64_t(l)));
            inp = drop->outs[l];
        }
        if (poll != nullptr) (*poll)(done, m * (C + 1) * OC);
    }
    if (L.softmax) k.softmax(a[L.num_layers() - 1], z[L.num_layers() - 1], m, L.outputs());
}

// The sum of a batch's row weights (w null: every row weighs 1).
template <typename T>
static double weight_sum(const T* w, int64_t m) {
    if (w == nullptr) return double(m);
    double s = 0.0;
    for (int64_t i = 0; i < m; i++) s += double(w[i]);
    return s;
}

// The loss of rows weighted by w: sum_n w_n * (row n's loss) / sum_n w_n,
// 0 when the weights sum to 0.
template <typename T>
static double weighted_loss(const Kernels<T>& k, const Layout& L, const T* z, const T* a,
                            const T* y, const T* w, int64_t m, double w_sum) {
    if (w_sum == 0.0) return 0.0;
    const int64_t K = L.outputs();
    double s = 0.0;
    for (int64_t n = 0; n < m; n++) {
        if (w[n] != T(0))
            s += double(w[n]) * k.loss_forward(z + n * K, a + n * K, y + n * K, 1, K, L.loss);
    }
    return s / w_sum;
}

// After forward_with: writes the gradient of the loss E into grads (which
// need not be zeroed) and returns the loss as reported. With row weights w
// (sum w_sum), E and the loss are their weighted means over the rows instead
// of plain means: each row's error signal is scaled by w_n * m / w_sum (0
// when w_sum is 0).
template <typename T>
static double backward_with(const Kernels<T>& k, const Layout& L, const T* params, const T* X,
                            const T* y, const T* w, double w_sum, int64_t m, Workspace<T>& ws,
                            T* grads, Poller* poll = nullptr, int64_t done = 0) {
    const int64_t last = L.num_layers() - 1;
    const int64_t K = L.outputs();
    // dz holds dE/dz_l and da dE/da_l for the layer being processed. The loss
    // gives dE/da of the last layer (then its activation's derivative is
    // applied below) or, for the cross-entropies, dE/dz directly.
    const T *z = ws.zs[last], *a = ws.as[last];
    std::fill_n(ws.dz.data(), m * K, T(0));
    bool at_z = false;
    visit(L.loss, [&](auto op) {
        using Op = decltype(op);
        at_z = Op::at_z;
        if (!at_z) std::fill_n(ws.da.data(), m * K, T(0));
        Op::backward(at_z ? ws.dz.data() : ws.da.data(), z, a, y, m, K);
    });
    double loss;
    if (w == nullptr) {
        loss = k.loss_forward(z, a, y, m, K, L.loss);
    } else {
        T* d = at_z ? ws.dz.data() : ws.da.data();
        for (int64_t n = 0; n < m; n++) {
            const T scale = w_sum == 0.0 ? T(0) : T(double(w[n]) * double(m) / w_sum);
            for (int64_t j = 0; j < K; j++) d[n * K + j] *= scale;
        }
        loss = weighted_loss(k, L, z, a, y, w, m, w_sum);
    }
    for (int64_t l = last; l >= 0; l--) {
        int64_t C = L.sizes[l], OC = L.sizes[l + 1];
        if (l != last || !at_z) {
            if (l != last) std::fill_n(ws.dz.data(), m * OC, T(0));
            k.activation_backward(ws.dz.data(), ws.da.data(), ws.zs[l], ws.as[l], m * OC,
                                  L.acts[l]);
        }
        // The layer read the previous one's output after dropout, if any
        // (ws.outs is ws.as where there is none).
        const T* inp = l == 0 ? X : ws.outs[l - 1];
        T* dinp = l > 0 ? ws.da.data() : nullptr;
        k.dense_backward(dinp, grads + L.w_off[l], grads + L.b_off[l], ws.dz.data(), inp,
                         params + L.w_off[l], m, C, OC, /*accumulate=*/false);
        if (l > 0 && ws.masks[l - 1] != nullptr) {  // through the dropout: the same multipliers
            const uint8_t* mask = ws.masks[l - 1];
            const Multiplier<T> mult(L.dropout_of(l - 1));
            T* d = ws.da.data();
            for (int64_t i = 0; i < m * C; i++) d[i] *= mult(mask[i]);
        }
        if (poll != nullptr) (*poll)(done, 2 * m * (C + 1) * OC);
    }
    return loss;
}

template <typename T>
void forward(const Layout& L, const T* params, const T* X, int64_t m, T* const* z, T* const* a,
             const PollHook* poll) {
    Poller poller(poll);
    forward_with(kernels<T>(), L, params, X, m, z, a, &poller);
}

// Throws NonFiniteInput for the first NaN or +-Inf among rows [r0, r0 + n) of X.
template <typename T>
static void check_rows(const T* X, int64_t r0, int64_t n, int64_t cols) {
    const T* x = X + r0 * cols;
    if (all_finite(x, n * cols)) return;
    int64_t i = 0;
    while (std::isfinite(x[i])) i++;
    throw NonFiniteInput(r0 + i / cols, i % cols, double(x[i]));
}

// Rows per chunk of predict: enough for the products to run at full speed
// (and on every thread), few enough that the scratch stays small.
constexpr int64_t kPredictRows = 512;

// Multiply-adds of one layer's product between two polls of predict and
// evaluate. A layer too big for that on a whole chunk runs in bands of rows
// (each row's result is the same whatever rows are computed with it), so
// Ctrl-C is seen after a few tens of milliseconds of work, however wide the
// layers. 2**28: a chunk of 512 rows is cut only for layers of more than
// 524,288 weights (more than 1024 x 512), whose bands still have 256 rows or more
// up to 1024 x 1024.
constexpr double kBandWork = double(int64_t(1) << 28);

// Rows of a band of layer (C -> OC): a multiple of 8, at least 8.
static int64_t band_rows(int64_t C, int64_t OC) {
    const double rows = kBandWork / (double(C) * double(OC));
    return rows >= double(kPredictRows) ? kPredictRows : std::max<int64_t>(8, int64_t(rows) / 8 * 8);
}

// Scratch that a thread keeps for its next call, up to kKeptScratchBytes:
// a 10,000-row predict runs its 20 chunks in parts over the pool, and fresh
// buffers cost every part their page faults. Bigger scratch, or scratch
// asked for while this thread's is in use (a signal handler that predicts,
// say), is the call's own.
constexpr size_t kKeptScratchBytes = size_t(16) << 20;

template <typename T>
class ThreadScratch {
  public:
    explicit ThreadScratch(size_t n) {
        if (!in_use_ && n * sizeof(T) <= kKeptScratchBytes) {
            if (kept_.size() < n) kept_.resize(n);
            in_use_ = true;
            mine_ = true;
            p_ = kept_.data();
        } else {
            own_.reset(new T[n]);
            p_ = own_.get();
        }
    }
    ~ThreadScratch() {
        if (mine_) in_use_ = false;
    }
    ThreadScratch(const ThreadScratch&) = delete;
    ThreadScratch& operator=(const ThreadScratch&) = delete;
    T* data() const { return p_; }

  private:
    static thread_local std::vector<T> kept_;
    static thread_local bool in_use_;
    std::unique_ptr<T[]> own_;
    bool mine_ = false;
    T* p_ = nullptr;
};
template <typename T>
thread_local std::vector<T> ThreadScratch<T>::kept_;
template <typename T>
thread_local bool ThreadScratch<T>::in_use_ = false;

// Runs X through the network a chunk of rows at a time, calling
// on_chunk(r0, n, z, a) with the last layer's z and a of rows [r0, r0 + n).
// a is written into out (m, outputs) when out is not null. With check_input,
// each chunk of X is checked for NaN/Inf just before it is used (check_rows).
// poll is checked after every layer of every chunk, and after every band of
// rows of a big layer (band_rows), with `done`, fit's count. panels (may be
// null): each layer's row panels, or null for that layer (predict).
template <typename T, typename F>
static void in_chunks(const Kernels<T>& k, const Layout& L, const T* params, const T* X,
                      int64_t m, T* out, F&& on_chunk, Poller& poll, int64_t done = 0,
                      bool check_input = false, const T* const* panels = nullptr) {
    const int64_t rows = std::min(m, kPredictRows);
    const int64_t widest = L.max_width;  // the widest layer after the input
    // z of the layer being computed, and the activations of it and the layer
    // before, in this thread's scratch (ThreadScratch).
    ThreadScratch<T> scratch(size_t(3 * rows * widest));
    T* const z = scratch.data();
    T* const a0 = z + rows * widest;
    T* const a1 = a0 + rows * widest;
    const int64_t last = L.num_layers() - 1, K = L.outputs();
    for (int64_t r0 = 0; r0 < m; r0 += rows) {
        const int64_t n = std::min(rows, m - r0);
        if (check_input) check_rows(X, r0, n, L.inputs());
        const T* inp = X + r0 * L.inputs();
        T* a = nullptr;
        for (int64_t l = 0; l <= last; l++) {
            a = l % 2 ? a1 : a0;
            if (l == last && out != nullptr) a = out + r0 * K;
            const int64_t C = L.sizes[l], OC = L.sizes[l + 1], band = band_rows(C, OC);
            for (int64_t s = 0; s < n; s += band) {
                k.dense_act_forward(z + s * OC, a + s * OC, inp + s * C, params + L.w_off[l],
                                    params + L.b_off[l], std::min(band, n - s), C, OC, L.acts[l],
                                    panels == nullptr ? nullptr : panels[l]);
                poll(done, std::min(band, n - s) * (C + 1) * OC);
            }
            inp = a;
        }
        if (L.softmax) k.softmax(a, z, n, K);
        on_chunk(r0, n, static_cast<const T*>(z), static_cast<const T*>(a));
    }
}

// Parts per thread of a predict split over the pool, at most: one chunk
// each up to that, so that a thread that gets its core late takes fewer of
// them (as with kBandsPerThread in fast.h) and the last part to finish
// holds the others up by one chunk at most.
constexpr int kPredictPartsPerThread = 16;

// Rows of X, in chunks, with the predictions into out. From two whole chunks
// on, the chunks are split over the pool, each thread running whole chunks
// through every layer with its own scratch; their products then stay on
// that thread. Splitting each product instead made every layer of every
// chunk a hand-off between the threads: at 64-128-10, 10,000 rows ran no
// faster on two threads than on one. Every row's sums are the same either
// way (fast.h), so the results do not depend on the split.
RowPanels::RowPanels(const Layout& L, int64_t width_) : width(width_) {
    for (int64_t l = 0; l < L.num_layers(); l++) {
        const int64_t C = L.sizes[l], OC = L.sizes[l + 1];
        offset.push_back(width > 0 && OC > width ? size : -1);
        if (offset.back() >= 0) size += C * OC;
    }
}

template <typename T>
int64_t row_panel_width() {
    return kernels<T>().row_panel;
}

template <typename T>
void pack_row_panels(const Layout& L, const T* params, int64_t width, T* panels) {
    const RowPanels R(L, width);
    for (int64_t l = 0; l < L.num_layers(); l++) {
        if (R.offset[size_t(l)] < 0) continue;
        const int64_t K = L.sizes[l], N = L.sizes[l + 1];
        const T* W = params + L.w_off[l];
        T* out = panels + R.offset[size_t(l)];
        for (int64_t q0 = 0; q0 < N; q0 += width) {  // fast.h: panel q0.. is K rows of w
            const int64_t w = std::min(width, N - q0);
            for (int64_t r = 0; r < K; r++, out += w) std::copy_n(W + r * N + q0, w, out);
        }
    }
}

template <typename T>
void predict(const Layout& L, const T* params, const T* X, int64_t m, T* out,
             const PollHook* poll, const T* panels, const RowPanels* layout) {
    const Kernels<T>& k = kernels<T>();
    auto nothing = [](int64_t, int64_t, const T*, const T*) {};
    const int64_t chunks = (m + kPredictRows - 1) / kPredictRows;
    const int threads = m < 2 * kPredictRows ? 1 : threads::available();
    if (threads <= 1) {  // one chunk, or one and a few rows, or one thread
        Poller poller(poll);
        std::vector<const T*> layers;  // each layer's panels, when they are still k's
        if (panels != nullptr && layout != nullptr && layout->width == k.row_panel) {
            for (int64_t off : layout->offset) layers.push_back(off < 0 ? nullptr : panels + off);
        }
        in_chunks(k, L, params, X, m, out, nothing, poller, 0, /*check_input=*/true,
                  layers.empty() ? nullptr : layers.data());
        return;
    }
    // Ctrl-C: only the caller's thread may run the poll (it takes the GIL and
    // raises KeyboardInterrupt). When it does, the other parts see `stop` at
    // their next check of the clock and end, so the call ends as promptly as
    // a serial one.
    struct Stopped {};
    struct Job {
        const Kernels<T>* k;
        const Layout* L;
        const T* params;
        const T* X;
        T* out;
        int64_t m, chunks;
        int parts;
        const PollHook* poll;
        std::thread::id caller;
        std::atomic<bool> stop{false};
        PollHook stop_hook;
        std::vector<std::exception_ptr> errors;  // one per part
    } job{&k, &L, params, X, out, m, chunks,
          int(std::min<int64_t>(chunks, int64_t(threads) * kPredictPartsPerThread)), poll,
          std::this_thread::get_id()};
    job.stop_hook = [&job](int64_t) {
        if (job.stop.load(std::memory_order_relaxed)) throw Stopped{};
    };
    job.errors.resize(size_t(job.parts));
    threads::parallel_for(job.parts, [](void* ctx, int p) {
        Job& j = *static_cast<Job*>(ctx);
        const int64_t r0 = j.chunks * p / j.parts * kPredictRows;
        const int64_t r1 = std::min(j.m, j.chunks * (p + 1) / j.parts * kPredictRows);
        const bool caller = std::this_thread::get_id() == j.caller;
        Poller poller(j.poll == nullptr ? nullptr : caller ? j.poll : &j.stop_hook);
        threads::Serial serial;  // this part's products stay on this thread
        try {
            if (j.stop.load(std::memory_order_relaxed)) throw Stopped{};
            in_chunks(*j.k, *j.L, j.params, j.X + r0 * j.L->inputs(), r1 - r0,
                      j.out + r0 * j.L->outputs(), [](int64_t, int64_t, const T*, const T*) {},
                      poller, 0, /*check_input=*/true);
        } catch (const NonFiniteInput& e) {
            j.errors[size_t(p)] =
                std::make_exception_ptr(NonFiniteInput(r0 + e.row, e.column, e.value));
        } catch (const Stopped&) {
            // another part's poll saw Ctrl-C: its error is the one to report
        } catch (...) {
            if (caller) j.stop.store(true, std::memory_order_relaxed);  // the poll's error
            j.errors[size_t(p)] = std::current_exception();
        }
    }, &job);
    // The first error by row, as a serial run would have met it.
    for (const std::exception_ptr& e : job.errors)
        if (e) std::rethrow_exception(e);
}

// Predictions among B rows that match y: the arg-max of a row (first of
// ties) for cross-entropy, each output against 0.5 for binary cross-entropy.
template <typename T>
static int64_t count_correct(const Layout& L, const T* a, const T* y, int64_t B) {
    const int64_t K = L.outputs();
    int64_t correct = 0;
    if (L.loss == Loss::cross_entropy) {
        for (int64_t b = 0; b < B; b++) {
            const T *ar = a + b * K, *yr = y + b * K;
            int64_t pa = 0, py = 0;
            for (int64_t k = 1; k < K; k++) {
                if (ar[k] > ar[pa]) pa = k;
                if (yr[k] > yr[py]) py = k;
            }
            correct += pa == py;
        }
    } else if (L.loss == Loss::binary_cross_entropy) {
        for (int64_t i = 0; i < B * K; i++) correct += (a[i] > T(0.5)) == (y[i] > T(0.5));
    }
    return correct;
}

template <typename T>
static Evaluation evaluate_with(const Kernels<T>& k, const Layout& L, const T* params, const T* X,
                                const T* y, int64_t m, Poller& poll, int64_t done = 0) {
    const int64_t K = L.outputs();
    Evaluation ev;
    double total = 0.0;  // the loss of each chunk times its rows
    double total_if_one_chunk = 0.0;
    in_chunks(k, L, params, X, m, static_cast<T*>(nullptr),
              [&](int64_t r0, int64_t n, const T* z, const T* a) {
                  const T* yc = y + r0 * K;
                  double loss = k.loss_forward(z, a, yc, n, K, L.loss);
                  total += double(n) * loss;
                  total_if_one_chunk = loss;
                  ev.correct += count_correct(L, a, yc, n);
              },
              poll, done);
    // One chunk: its loss as computed, not rescaled by n / m (which can move the last bit).
    ev.loss = m <= kPredictRows ? total_if_one_chunk : total / double(m);
    return ev;
}

template <typename T>
Evaluation evaluate(const Layout& L, const T* params, const T* X, const T* y, int64_t m,
                    const PollHook* poll) {
    Poller poller(poll);
    return evaluate_with(kernels<T>(), L, params, X, y, m, poller);
}

template <typename T>
double gradients(const Layout& L, const T* params, const T* X, const T* y, int64_t m, T* grads,
                 const PollHook* poll) {
    const Kernels<T>& k = kernels<T>();
    Workspace<T> ws(L, m);
    Poller poller(poll);
    forward_with(k, L, params, X, m, ws.zs.data(), ws.as.data(), &poller);
    return backward_with(k, L, params, X, y, static_cast<const T*>(nullptr), double(m), m, ws,
                         grads, &poller);
}

// Applies optimizer updates. The iterate (parameters and optimizer state) has
// two homes: the caller's arrays and a buffer of the Updater's own. Each
// update reads the current home and writes the other, which becomes current,
// so the iterate before the last update is still intact: undoing an update is
// switching back, and no update copies anything. sync() puts the current
// iterate into the caller's arrays (before a callback, which may look at the
// weights, and when the Updater goes away: training done, or stopped by an
// exception).
template <typename T>
class Updater {
  public:
    int64_t t;  // updates so far

    Updater(Optim kind, const Optimizer& o, int64_t steps, T* params, T* const* state, int64_t P)
        : t(steps), kind_(kind), settings_(o), P_(P),
          keeps_state_(state != nullptr && optimizer_uses_state(kind, o)) {
        const int slots = optimizer_slots(kind);
        own_.resize(P * (keeps_state_ ? 1 + slots : 1));
        home_[0].p = params;
        home_[1].p = own_.data();
        for (int s = 0; s < slots; s++) {
            T* caller = state == nullptr ? nullptr : state[s];
            home_[0].s.push_back(caller);
            // A rule that keeps no state never touches it: both homes share the caller's.
            home_[1].s.push_back(keeps_state_ ? own_.data() + (s + 1) * P : caller);
        }
    }
    Updater(const Updater&) = delete;
    Updater& operator=(const Updater&) = delete;
    ~Updater() { sync(); }

    // The current parameters.
    T* params() const { return home_[cur_].p; }

    // The rate of the next updates (a schedule's).
    void set_rate(double lr) { settings_.lr = lr; }
    // The momentum of the next updates: SGD's momentum, Adam's beta1 (OneCycleLR's).
    void set_momentum(double momentum) {
        if (kind_ == Optim::sgd) settings_.momentum = momentum;
        else settings_.beta1 = momentum;
    }

    // The next update. If it makes a parameter NaN/Inf it is dropped (the
    // current iterate stays as it was) and false returned.
    bool apply(const Kernels<T>& k, const T* grads) {
        const Home &from = home_[cur_], &to = home_[cur_ ^ 1];
        if (!k.optimizer_update(to.p, to.s.data(), from.p, from.s.data(), grads, P_, kind_,
                                settings_, t + 1))
            return false;
        cur_ ^= 1;
        t++;
        return true;
    }
    // Undoes the last update apply made.
    void undo() {
        cur_ ^= 1;
        t--;
    }
    // Puts the current iterate into the caller's arrays. The homes swap
    // contents, so the iterate before it is kept too and undo still works.
    void sync() {
        if (cur_ == 0) return;
        std::swap_ranges(home_[0].p, home_[0].p + P_, home_[1].p);
        if (keeps_state_) {
            for (size_t s = 0; s < home_[0].s.size(); s++)
                std::swap_ranges(home_[0].s[s], home_[0].s[s] + P_, home_[1].s[s]);
        }
        cur_ = 0;
    }

  private:
    struct Home {
        T* p = nullptr;
        std::vector<T*> s;
    };
    Optim kind_;
    Optimizer settings_;
    int64_t P_;
    bool keeps_state_;  // whether the rule reads and writes the state arrays
    std::vector<T> own_;
    Home home_[2];
    int cur_ = 0;  // which home holds the current iterate
};

// Adds the L2 penalty l2 / (2 w_sum) * sum_l ||W_l||^2 (weights only, not
// biases) to a batch's objective: its gradient into grads, its value returned.
template <typename T>
static double add_l2(const Layout& L, const T* params, T* grads, double l2, double w_sum) {
    if (l2 == 0.0 || w_sum == 0.0) return 0.0;
    const T scale = T(l2 / w_sum);
    double squares = 0.0;
    for (int64_t l = 0; l < L.num_layers(); l++) {
        const int64_t n = L.sizes[l] * L.sizes[l + 1];
        const T* W = params + L.w_off[l];
        T* dW = grads + L.w_off[l];
        for (int64_t i = 0; i < n; i++) {
            squares += double(W[i]) * double(W[i]);
            dW[i] += scale * W[i];
        }
    }
    return 0.5 * l2 * squares / w_sum;
}

// Gradient clipping, torch.nn.utils': clip_norm scales the whole gradient
// by clip_norm / (||g||_2 + 1e-6) when that is below 1 (clip_grad_norm_,
// which multiplies by the coefficient clamped to 1), clip_value clamps each
// entry to [-clip_value, clip_value] (clip_grad_value_); 0 is off.
template <typename T>
static void clip_gradient(T* grads, int64_t P, double clip_norm, double clip_value) {
    if (clip_norm > 0.0) {
        // Eight running sums, so that the loop is not one chain of dependent
        // additions (without -ffast-math the compiler keeps the order given).
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t i = 0;
        for (; i + 8 <= P; i += 8) {
            for (int j = 0; j < 8; j++) acc[j] += double(grads[i + j]) * double(grads[i + j]);
        }
        for (; i < P; i++) acc[0] += double(grads[i]) * double(grads[i]);
        const double squares = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                               ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        const double coef = clip_norm / (std::sqrt(squares) + 1e-6);
        if (coef < 1.0) {
            const T c = T(coef);
            for (int64_t k = 0; k < P; k++) grads[k] *= c;
        }
    }
    if (clip_value > 0.0) {
        // Two selects of the min/max shape, which vectorise; NaN stays NaN (torch.clamp's).
        const T hi = T(clip_value), lo = -hi;
        for (int64_t k = 0; k < P; k++) {
            T v = grads[k];
            v = v < lo ? lo : v;
            v = v > hi ? hi : v;
            grads[k] = v;
        }
    }
}

// One training iteration on a batch: forward, loss, backward and, if the
// loss is finite, the update (undone if it makes a parameter NaN/Inf).
// Rows weigh w (null: 1 each); opt.l2 adds the penalty of add_l2, and
// opt.clip_norm or opt.clip_value clip the gradient. Returns the loss;
// `updated` says whether params moved. This is the one place that decides
// what a step does.
template <typename T>
static double train_step(const Kernels<T>& k, const Layout& L, const T* X, const T* y,
                         const T* w, int64_t m, const FitOptions& opt, Updater<T>& u,
                         Workspace<T>& ws, T* grads, bool& updated, const MaskKey& key,
                         Poller* poll = nullptr,
                         int64_t done = 0) {
    const T* params = u.params();
    const Dropping<T> drop{ws.masks.data(), ws.outs.data(), key};
    forward_with(k, L, params, X, m, ws.zs.data(), ws.as.data(), poll, done,
                 ws.dropout ? &drop : nullptr);
    const double w_sum = weight_sum(w, m);
    double loss = backward_with(k, L, params, X, y, w, w_sum, m, ws, grads, poll, done);
    loss += add_l2(L, params, grads, opt.l2, w_sum);
    clip_gradient(grads, L.num_params, opt.clip_norm, opt.clip_value);
    // With a finite loss and a huge gradient, apply keeps the weights whose loss this is.
    updated = std::isfinite(loss) && u.apply(k, grads);
    return loss;
}

template <typename T>
StepResult step(const Layout& L, T* params, const T* X, const T* y, int64_t m, double lr,
                uint64_t seed) {
    Workspace<T> ws(L, m, /*training=*/true);
    std::vector<T> grads(L.num_params);
    Optimizer plain;
    plain.lr = lr;
    Updater<T> u(Optim::sgd, plain, 0, params, nullptr, L.num_params);
    StepResult r;
    r.loss = train_step(kernels<T>(), L, X, y, static_cast<const T*>(nullptr), m, FitOptions(),
                        u, ws, grads.data(), r.updated, MaskKey{seed, 0, 0});
    return r;
}

constexpr double kPi = 3.141592653589793;  // Python's math.pi

// Python's a % n for n > 0 (never negative), as torch's schedules compute it.
static int64_t py_mod(int64_t a, int64_t n) { return ((a % n) + n) % n; }

bool schedule_epoch_step(const Schedule& s, double* state, double metric, double rows) {
    if (s.kind == Sched::inv_scaling) {  // scikit-learn's t_ counts rows
        const double t = state[kLastEpoch] + rows;
        state[kLastEpoch] = t;
        state[kRate] = s.base_lr / std::pow(t + 1, s.power_t);
        return false;
    }
    const int64_t e = int64_t(state[kLastEpoch]) + 1;
    state[kLastEpoch] = double(e);
    double& lr = state[kRate];
    switch (s.kind) {
        case Sched::step:
            if (e % s.step_size == 0) lr = lr * s.gamma;
            break;
        case Sched::multi_step: {
            const auto n = std::count(s.milestones.begin(), s.milestones.end(), e);
            if (n > 0) lr = lr * std::pow(s.gamma, double(n));
            break;
        }
        case Sched::exponential:
            lr = lr * s.gamma;
            break;
        case Sched::cosine: {
            const double T = double(s.t_max);
            if (py_mod(e - 1 - s.t_max, 2 * s.t_max) == 0) {
                lr = lr + (s.base_lr - s.eta_min) * (1 - std::cos(kPi / T)) / 2;
            } else {
                lr = (1 + std::cos(kPi * double(e) / T)) / (1 + std::cos(kPi * double(e - 1) / T)) *
                         (lr - s.eta_min) +
                     s.eta_min;
            }
            break;
        }
        case Sched::plateau: {
            double& best = state[kBest];
            const bool better = s.mode_max ? (s.threshold_rel ? metric > best * (s.threshold + 1.0)
                                                              : metric > best + s.threshold)
                                           : (s.threshold_rel ? metric < best * (1.0 - s.threshold)
                                                              : metric < best - s.threshold);
            if (better) {
                best = metric;
                state[kBadEpochs] = 0;
            } else {
                state[kBadEpochs] += 1;
            }
            if (state[kCooldownLeft] > 0) {
                state[kCooldownLeft] -= 1;
                state[kBadEpochs] = 0;  // bad epochs in cooldown do not count
            }
            if (state[kBadEpochs] > double(s.patience)) {
                const double old_lr = lr, new_lr = std::max(old_lr * s.factor, s.min_lr);
                if (old_lr - new_lr > s.eps) lr = new_lr;
                state[kCooldownLeft] = double(s.cooldown);
                state[kBadEpochs] = 0;
            }
            break;
        }
        case Sched::adaptive: {
            // scikit-learn's _update_no_improvement_count and trigger_stopping.
            double& best = state[kBest];
            const bool stalled = s.mode_max ? metric < best + s.threshold
                                            : metric > best - s.threshold;
            state[kBadEpochs] = stalled ? state[kBadEpochs] + 1 : 0;
            if (s.mode_max ? metric > best : metric < best) best = metric;
            if (state[kBadEpochs] > double(s.patience)) {
                if (lr <= s.stop_lr) return true;
                lr /= 5.0;
                state[kBadEpochs] = 0;
            }
            break;
        }
        case Sched::none:
        case Sched::one_cycle:
        case Sched::inv_scaling:
            break;
    }
    return false;
}

static double anneal(bool cos, double start, double end, double pct) {
    if (cos) {
        const double cos_out = std::cos(kPi * pct) + 1;
        return end + (start - end) / 2.0 * cos_out;
    }
    return (end - start) * pct + start;
}

void one_cycle_at(const Schedule& s, int64_t step, double& lr, double& momentum) {
    const double total = double(s.total_steps);
    // torch's phases: (end step, start and end rate, start and end momentum).
    struct Phase {
        double end, lr0, lr1, m0, m1;
    };
    Phase phases[3];
    int n = 0;
    phases[n++] = {s.pct_start * total - 1, s.initial_lr, s.max_lr, s.max_momentum,
                   s.base_momentum};
    if (s.three_phase) {
        phases[n++] = {2 * s.pct_start * total - 2, s.max_lr, s.initial_lr, s.base_momentum,
                       s.max_momentum};
        phases[n++] = {total - 1, s.initial_lr, s.min_lr, s.max_momentum, s.max_momentum};
    } else {
        phases[n++] = {total - 1, s.max_lr, s.min_lr, s.base_momentum, s.max_momentum};
    }
    double start = 0.0;
    const double at = double(step);
    for (int i = 0; i < n; i++) {
        const Phase& ph = phases[i];
        if (at <= ph.end || i == n - 1) {
            const double pct = (at - start) / (ph.end - start);
            lr = anneal(s.anneal_cos, ph.lr0, ph.lr1, pct);
            momentum = anneal(s.anneal_cos, ph.m0, ph.m1, pct);
            return;
        }
        start = ph.end;
    }
}

template <typename T>
double loss_and_gradient(const Layout& L, const T* params, const T* X, const T* y, const T* w,
                         int64_t m, double l2, T* grads, const PollHook* poll) {
    const Kernels<T>& k = kernels<T>();
    Workspace<T> ws(L, m);
    Poller poller(poll);
    forward_with(k, L, params, X, m, ws.zs.data(), ws.as.data(), &poller);
    const double w_sum = weight_sum(w, m);
    double value = backward_with(k, L, params, X, y, w, w_sum, m, ws, grads, &poller);
    if (L.loss == Loss::mse) value = value * double(L.outputs()) / 2.0;  // the reported mean -> E
    return value + add_l2(L, params, grads, l2, w_sum);
}

int64_t fit_iterations(int64_t m, int64_t epochs, int64_t batch_size) {
    int64_t per_epoch = batch_size <= 0 || batch_size >= m ? 1 : (m + batch_size - 1) / batch_size;
    if (epochs < 0 || (per_epoch > 0 && epochs > kMaxElements / per_epoch)) return -1;
    return epochs * per_epoch;
}

void epoch_permutation(int64_t* perm, int64_t m, uint64_t seed, uint64_t epoch,
                       std::vector<std::pair<uint64_t, int64_t>>& keys) {
    const uint64_t base = mix64(seed ^ mix64(epoch));
    // Each key hashed once, then the indices put in the order of their keys,
    // ties by index: a stable argsort of the keys (reference.py). A radix
    // sort, least significant byte first, each pass stable. std::sort of the
    // few thousand keys of an epoch mispredicted every other comparison of
    // random keys, 2 % of a digits-sized fit; this is several times faster.
    keys.resize(size_t(2 * m));
    std::pair<uint64_t, int64_t>* from = keys.data();
    std::pair<uint64_t, int64_t>* to = from + m;
    for (int64_t i = 0; i < m; i++) from[i] = {mix64(base ^ uint64_t(i)), i};
    for (int shift = 0; shift < 64 && m > 1; shift += 8) {
        int64_t start[257] = {};  // start[d + 1]: how many keys have byte d
        for (int64_t i = 0; i < m; i++) start[((from[i].first >> shift) & 255) + 1]++;
        if (start[((from[0].first >> shift) & 255) + 1] == m) continue;  // one byte: no move
        for (int d = 0; d < 256; d++) start[d + 1] += start[d];
        for (int64_t i = 0; i < m; i++) to[start[(from[i].first >> shift) & 255]++] = from[i];
        std::swap(from, to);
    }
    for (int64_t i = 0; i < m; i++) perm[i] = from[i].second;
}

void epoch_permutation(int64_t* perm, int64_t m, uint64_t seed, uint64_t epoch) {
    std::vector<std::pair<uint64_t, int64_t>> keys;
    epoch_permutation(perm, m, seed, epoch, keys);
}

// From how many bytes of inputs on a mini-batch is gathered by the pool.
// Its rows come from all over X, mostly from memory rather than cache (an
// MNIST-sized batch of 64 float64 rows of 784 is 400 KB), and two cores
// copy them faster than one while the other waits for the next product.
constexpr int64_t kThreadedGather = int64_t(64) << 10;
constexpr int kGatherPartsPerThread = 4;

// Copies the rows idx[0 .. rows) of X (n_in wide), y (K wide) and w (if
// any) into xb, yb and wb, in order.
template <typename T>
static void gather_rows(T* xb, T* yb, T* wb, const T* X, const T* y, const T* w,
                        const int64_t* idx, int64_t rows, int64_t n_in, int64_t K) {
    struct Job {
        T *xb, *yb, *wb;
        const T *X, *y, *w;
        const int64_t* idx;
        int64_t rows, n_in, K;
        int n;
    };
    auto copy = [](void* ctx, int part) {
        const Job& j = *static_cast<const Job*>(ctx);
        const int64_t r0 = j.rows * part / j.n, r1 = j.rows * (part + 1) / j.n;
        for (int64_t r = r0; r < r1; r++) {
            const int64_t src = j.idx[r];
            std::memcpy(j.xb + r * j.n_in, j.X + src * j.n_in, sizeof(T) * size_t(j.n_in));
            std::memcpy(j.yb + r * j.K, j.y + src * j.K, sizeof(T) * size_t(j.K));
            if (j.w != nullptr) j.wb[r] = j.w[src];
        }
    };
    // In several parts per thread, claimed as the threads come free (as a
    // big product's bands are, fast.h), and never fewer than a few rows each.
    const double bytes = double(rows) * double(n_in) * sizeof(T);
    const int threads = bytes >= double(kThreadedGather) ? threads::available() : 1;
    const int parts = int(std::min<int64_t>(int64_t(threads) * kGatherPartsPerThread,
                                            std::max<int64_t>(1, rows / 4)));
    Job job{xb, yb, wb, X, y, w, idx, rows, n_in, K, threads > 1 ? parts : 1};
    if (job.n <= 1) return copy(&job, 0);
    threads::parallel_for(job.n, copy, &job);
}

template <typename T>
FitResult fit(const Layout& L, T* params, T* const* state, const T* X, const T* y, const T* w,
              int64_t m, const T* X_val, const T* y_val, int64_t m_val, const FitOptions& opt,
              std::vector<double>& loss_out, std::vector<double>& epoch_out,
              const LogHook& on_log, const PollHook& poll, const ProgressHook& progress) {
    const int64_t n_in = L.inputs(), K = L.outputs(), P = L.num_params;
    const bool full = opt.batch_size <= 0 || opt.batch_size >= m;
    const int64_t bs = full ? m : opt.batch_size;
    const int64_t batches = full ? 1 : (m + bs - 1) / bs;
    const Kernels<T>& k = kernels<T>();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    // Accuracy counts rows for cross-entropy, outputs for binary cross-entropy.
    const double per_row = L.loss == Loss::binary_cross_entropy ? double(K) : 1.0;
    // The monitored quantity exists every epoch (training loss), or with
    // validation data; accuracy only for the losses that classify.
    const bool watched = opt.monitor == Monitor::loss ||
                         (m_val > 0 && (opt.monitor == Monitor::val_loss || L.classifies()));
    const bool early = watched && opt.patience > 0;
    const bool keep_best = early && opt.restore_best && opt.monitor != Monitor::loss;

    // Everything the loop touches is allocated here, once.
    Workspace<T> ws(L, bs, /*training=*/true);
    Updater<T> u(opt.optim, opt.settings, opt.steps, params, state, P);
    std::vector<T> grads(P);
    std::vector<T> xb(full ? 0 : bs * n_in), yb(full ? 0 : bs * K);
    std::vector<T> wb(full || w == nullptr ? 0 : bs);
    std::vector<int64_t> perm(full ? 0 : m);
    std::vector<std::pair<uint64_t, int64_t>> keys;  // epoch_permutation's scratch
    keys.reserve(full ? 0 : size_t(2 * m));
    if (!full) std::iota(perm.begin(), perm.end(), int64_t(0));
    std::vector<T> best(keep_best ? P : 0);
    // The best monitored value so far, as a loss: accuracy enters negated.
    double best_loss = std::numeric_limits<double>::infinity();
    int64_t waited = 0;  // epochs since the validation loss last improved

    using clock = std::chrono::steady_clock;
    auto last_progress = clock::now();
    // Polled by time after every layer of forward and backward and after
    // every iteration, so Ctrl-C is seen within kPollMillis plus the longest
    // product of one layer on one batch, whatever an iteration costs. A poll
    // that throws leaves the iterate of the last completed update (the
    // Updater puts it into params as it goes).
    Poller poller(&poll);

    // The schedule: epoch schedules step after each epoch; one_cycle sets
    // the rate (and momentum) of every update from the updates made so far,
    // so its state follows an undone update too.
    const Schedule& sched = opt.schedule;
    double* sched_state = sched.kind == Sched::none ? nullptr : opt.schedule_state;
    const bool per_update = sched_state != nullptr && sched.kind == Sched::one_cycle;
    const double cycle_start = per_update ? sched_state[kLastEpoch] : 0.0;
    auto cycle_to = [&](int64_t updates) {  // one_cycle's state after `updates` of this fit
        double lr = 0.0, momentum = 0.0;
        one_cycle_at(sched, int64_t(cycle_start) + updates, lr, momentum);
        sched_state[kLastEpoch] = cycle_start + double(updates);
        sched_state[kRate] = lr;
        sched_state[kMomentum] = momentum;
        u.set_rate(lr);
        if (sched.cycle_momentum) u.set_momentum(momentum);
    };
    if (sched_state != nullptr) u.set_rate(sched_state[kRate]);
    if (per_update) cycle_to(0);
    // An epoch's rows for inv_scaling: a row of weight 2 counts as two rows.
    const double epoch_rows = sched.kind == Sched::inv_scaling ? weight_sum(w, m) : double(m);

    FitResult r;
    auto finish = [&]() {  // every return: the updates that stand
        r.updates = u.t - opt.steps;
        if (per_update) cycle_to(r.updates);
        return r;
    };
    int64_t it = 0;
    for (int64_t epoch = 0; epoch < opt.epochs; epoch++) {
        if (!full && opt.shuffle) {
            epoch_permutation(perm.data(), m, opt.seed, uint64_t(opt.first_epoch + epoch), keys);
        }
        double loss_sum = 0.0;  // batch losses times their rows
        int64_t correct = 0;
        for (int64_t b = 0; b < batches; b++, it++) {
            const T* xs = X;
            const T* ys = y;
            const T* wr = w;
            int64_t rows = m;
            if (!full) {
                int64_t start = b * bs;
                rows = std::min(bs, m - start);
                gather_rows(xb.data(), yb.data(), wb.data(), X, y, w, perm.data() + start, rows,
                            n_in, K);
                xs = xb.data();
                ys = yb.data();
                if (w != nullptr) wr = wb.data();
            }

            // Room for this iteration's loss (and its epoch's row) before it
            // runs: std::bad_alloc then leaves the weights of the last one.
            if (loss_out.size() == loss_out.capacity()) {
                loss_out.reserve(std::max<size_t>(1024, 2 * loss_out.capacity()));
            }
            const size_t row_end = size_t(epoch + 1) * kEpochColumns;
            if (b == 0 && epoch_out.capacity() < row_end) {
                epoch_out.reserve(std::max(row_end, 2 * epoch_out.capacity()));
            }

            bool updated = false;
            const MaskKey key{opt.seed, uint64_t(opt.first_epoch + epoch), uint64_t(b)};
            double loss = train_step(k, L, xs, ys, wr, rows, opt, u, ws, grads.data(), updated,
                                     key, &poller, r.iterations);
            if (per_update) cycle_to(u.t - opt.steps);  // the next update's rate
            if (!std::isfinite(loss)) {
                // The previous update produced these weights: undo it.
                if (it > 0) u.undo();
                r.nonfinite = true;
                return finish();
            }
            loss_out.push_back(loss);
            r.iterations = it + 1;
            if (!updated) {
                // The update overflowed and was undone: params hold the
                // weights whose loss was just recorded.
                r.nonfinite = true;
                return finish();
            }
            loss_sum += loss * double(rows);
            if (L.classifies()) correct += count_correct(L, ws.as[L.num_layers() - 1], ys, rows);

            if (opt.log_every > 0 && it % opt.log_every == 0 && on_log) {
                u.sync();  // the callback sees the weights as they are now
                if (!on_log(it, loss)) {
                    r.stopped = true;
                    return finish();
                }
            }
            poller(r.iterations);
        }

        epoch_out.resize(size_t(epoch + 1) * kEpochColumns);  // reserved above: no throw
        double* row = epoch_out.data() + epoch * kEpochColumns;
        row[0] = loss_sum / double(m);
        row[1] = L.classifies() ? double(correct) / (double(m) * per_row) : nan;
        row[2] = row[3] = nan;
        r.epochs = epoch + 1;
        if (m_val > 0) {
            Evaluation ev = evaluate_with(k, L, u.params(), X_val, y_val, m_val, poller,
                                          r.iterations);
            row[2] = ev.loss;
            row[3] = L.classifies() ? double(ev.correct) / (double(m_val) * per_row) : nan;
        }
        if (watched) {
            const double value = opt.monitor == Monitor::loss       ? row[0]
                                 : opt.monitor == Monitor::val_loss ? row[2]
                                                                    : -row[3];
            if (value < best_loss - opt.min_delta) {  // an improvement, as Keras counts it
                best_loss = value;
                r.best_epoch = epoch;
                waited = 0;
                if (!best.empty()) std::memcpy(best.data(), u.params(), sizeof(T) * P);
            } else if (early && ++waited >= opt.patience) {
                r.early_stopped = true;
            }
        }
        if (sched_state != nullptr && !per_update) {
            // ReduceLROnPlateau watches what fit monitors: the validation
            // loss or accuracy when there is validation data, else the
            // epoch's training loss.
            const double metric = m_val > 0 && opt.monitor == Monitor::val_loss       ? row[2]
                                  : m_val > 0 && opt.monitor == Monitor::val_accuracy ? row[3]
                                                                                     : row[0];
            if (schedule_epoch_step(sched, sched_state, metric, epoch_rows)) {
                r.early_stopped = true;
            }
            u.set_rate(sched_state[kRate]);
        }
        // Once per epoch, outside the batch loop: without a hook this is one test.
        if (progress) {
            auto now = clock::now();
            if (now - last_progress >= std::chrono::milliseconds(kProgressMillis)) {
                last_progress = now;
                progress(r.epochs, r.iterations, row);
            }
        }
        if (r.early_stopped) break;
    }
    if (!best.empty() && r.best_epoch >= 0 && r.best_epoch != r.epochs - 1) {
        std::memcpy(u.params(), best.data(), sizeof(T) * P);
    }
    return finish();
}

#define PLAINNET_INSTANTIATE(T)                                                                  \
    template void forward<T>(const Layout&, const T*, const T*, int64_t, T* const*, T* const*,   \
                             const PollHook*);                                                   \
    template void predict<T>(const Layout&, const T*, const T*, int64_t, T*, const PollHook*,    \
                             const T*, const RowPanels*);                                        \
    template int64_t row_panel_width<T>();                                                       \
    template void pack_row_panels<T>(const Layout&, const T*, int64_t, T*);                      \
    template double gradients<T>(const Layout&, const T*, const T*, const T*, int64_t, T*,       \
                                 const PollHook*);                                               \
    template double loss_and_gradient<T>(const Layout&, const T*, const T*, const T*, const T*,  \
                                         int64_t, double, T*, const PollHook*);                  \
    template Evaluation evaluate<T>(const Layout&, const T*, const T*, const T*, int64_t,       \
                                    const PollHook*);                                            \
    template StepResult step<T>(const Layout&, T*, const T*, const T*, int64_t, double,          \
                                uint64_t);                                                       \
    template void dropout_keep<T>(T*, int64_t, double, uint64_t);                                \
    template FitResult fit<T>(const Layout&, T*, T* const*, const T*, const T*, const T*,        \
                              int64_t,                                                           \
                              const T*, const T*, int64_t, const FitOptions&,                    \
                              std::vector<double>&, std::vector<double>&,                        \
                              const LogHook&, const PollHook&, const ProgressHook&);

PLAINNET_INSTANTIATE(float)
PLAINNET_INSTANTIATE(double)

}  // namespace plainnet
