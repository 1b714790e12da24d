#include "network.h"

#include "dispatch.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <new>
#include <numeric>
#include <stdexcept>

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

Layout::Layout(std::vector<int64_t> sizes_, std::vector<Act> acts_)
    : sizes(std::move(sizes_)), acts(std::move(acts_)) {
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
        max_width = std::max(max_width, sizes[i]);
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

// Scratch memory for training on batches of up to `rows` rows, allocated
// once and reused every iteration: every layer's z and a (backward needs
// them all) and the gradients with respect to one layer's z and a.
template <typename T>
struct Workspace {
    std::vector<T> z, a;       // pre-/post-activation of every layer, concatenated
    std::vector<T> dz, da;     // dE/dz_l and dE/da_l of the layer being processed
    std::vector<T*> zs, as;    // where layer l's z and a start
    Workspace(const Layout& L, int64_t rows) {
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
    }
};

// forward and backward with the kernels of one variant (fit holds on to the
// variant it started with, whatever set_variant does meanwhile).
template <typename T>
static void forward_with(const Kernels<T>& k, const Layout& L, const T* params, const T* X,
                         int64_t m, T* const* z, T* const* a) {
    const T* inp = X;
    for (int64_t l = 0; l < L.num_layers(); l++) {
        int64_t C = L.sizes[l], OC = L.sizes[l + 1];
        k.dense_act_forward(z[l], a[l], inp, params + L.w_off[l], params + L.b_off[l], m, C, OC,
                            L.acts[l]);
        inp = a[l];
    }
}

// After forward_with: accumulates the gradient of the loss E into grads and
// returns the loss as reported.
template <typename T>
static double backward_with(const Kernels<T>& k, const Layout& L, const T* params, const T* X,
                            const T* y, int64_t m, Workspace<T>& ws, T* grads) {
    const int64_t last = L.num_layers() - 1;
    const int64_t K = L.outputs();
    const T* pred = ws.as[last];
    // da holds dE/da_l for the layer being processed.
    std::fill_n(ws.da.data(), m * K, T(0));
    double loss = visit(L.loss, [&](auto op) {
        using Op = decltype(op);
        Op::backward(ws.da.data(), pred, y, m, K);
        return Op::forward(pred, y, m, K);
    });
    for (int64_t l = last; l >= 0; l--) {
        int64_t C = L.sizes[l], OC = L.sizes[l + 1];
        std::fill_n(ws.dz.data(), m * OC, T(0));
        k.activation_backward(ws.dz.data(), ws.da.data(), ws.zs[l], ws.as[l], m * OC, L.acts[l]);
        const T* inp = l == 0 ? X : ws.as[l - 1];
        T* dinp = nullptr;
        if (l > 0) {
            dinp = ws.da.data();
            std::fill_n(dinp, m * C, T(0));
        }
        k.dense_backward(dinp, grads + L.w_off[l], grads + L.b_off[l], ws.dz.data(), inp,
                         params + L.w_off[l], m, C, OC);
    }
    return loss;
}

template <typename T>
void forward(const Layout& L, const T* params, const T* X, int64_t m, T* const* z, T* const* a) {
    forward_with(kernels<T>(), L, params, X, m, z, a);
}

// Rows per chunk of predict: enough for the products to run at full speed
// (and on every thread), few enough that the scratch stays small.
constexpr int64_t kPredictRows = 512;

template <typename T>
void predict(const Layout& L, const T* params, const T* X, int64_t m, T* out) {
    const Kernels<T>& k = kernels<T>();
    const int64_t rows = std::min(m, kPredictRows);
    int64_t widest = 0;  // the widest layer after the input
    for (int64_t l = 1; l < int64_t(L.sizes.size()); l++) widest = std::max(widest, L.sizes[l]);
    // z of the layer being computed, and the activations of it and the layer before.
    std::unique_ptr<T[]> z(new T[rows * widest]), a0(new T[rows * widest]), a1(new T[rows * widest]);
    const int64_t last = L.num_layers() - 1;
    for (int64_t r0 = 0; r0 < m; r0 += rows) {
        const int64_t n = std::min(rows, m - r0);
        const T* inp = X + r0 * L.inputs();
        for (int64_t l = 0; l <= last; l++) {
            T* a = l == last ? out + r0 * L.outputs() : (l % 2 ? a1.get() : a0.get());
            k.dense_act_forward(z.get(), a, inp, params + L.w_off[l], params + L.b_off[l], n,
                                L.sizes[l], L.sizes[l + 1], L.acts[l]);
            inp = a;
        }
    }
}

template <typename T>
double gradients(const Layout& L, const T* params, const T* X, const T* y, int64_t m, T* grads) {
    const Kernels<T>& k = kernels<T>();
    Workspace<T> ws(L, m);
    std::fill_n(grads, L.num_params, T(0));
    forward_with(k, L, params, X, m, ws.zs.data(), ws.as.data());
    return backward_with(k, L, params, X, y, m, ws, grads);
}

// One training iteration on a batch: forward, loss, backward and, if the
// loss is finite, the update. An update that makes a parameter NaN/Inf is
// undone (prev is scratch for that). Returns the loss; `updated` says whether
// params moved. This is the one place that decides what a step does.
template <typename T>
static double train_step(const Kernels<T>& k, const Layout& L, T* params, const T* X, const T* y,
                         int64_t m, T lr, Workspace<T>& ws, T* grads, T* prev, bool& updated) {
    const int64_t P = L.num_params;
    forward_with(k, L, params, X, m, ws.zs.data(), ws.as.data());
    std::fill_n(grads, P, T(0));
    double loss = backward_with(k, L, params, X, y, m, ws, grads);
    updated = false;
    if (!std::isfinite(loss)) return loss;
    std::memcpy(prev, params, sizeof(T) * P);
    k.sgd_update(params, grads, lr, P);
    if (!std::all_of(params, params + P, [](T v) { return std::isfinite(v); })) {
        // A finite loss, a huge gradient: keep the weights whose loss this is.
        std::memcpy(params, prev, sizeof(T) * P);
        return loss;
    }
    updated = true;
    return loss;
}

template <typename T>
StepResult step(const Layout& L, T* params, const T* X, const T* y, int64_t m, double lr) {
    Workspace<T> ws(L, m);
    std::vector<T> grads(L.num_params), prev(L.num_params);
    StepResult r;
    r.loss = train_step(kernels<T>(), L, params, X, y, m, T(lr), ws, grads.data(), prev.data(),
                        r.updated);
    return r;
}

int64_t fit_iterations(int64_t m, int64_t epochs, int64_t batch_size) {
    int64_t per_epoch = batch_size <= 0 || batch_size >= m ? 1 : (m + batch_size - 1) / batch_size;
    if (epochs < 0 || (per_epoch > 0 && epochs > kMaxElements / per_epoch)) return -1;
    return epochs * per_epoch;
}

static inline uint64_t mix64(uint64_t x) {
    // splitmix64's finaliser
    uint64_t z = x + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void epoch_permutation(int64_t* perm, int64_t m, uint64_t seed, uint64_t epoch) {
    const uint64_t base = mix64(seed ^ mix64(epoch));
    std::iota(perm, perm + m, int64_t(0));
    // Ties broken by index: the same order as a stable argsort, and std::sort,
    // unlike std::stable_sort, needs no scratch buffer inside the training loop.
    std::sort(perm, perm + m, [base](int64_t i, int64_t j) {
        uint64_t ki = mix64(base ^ uint64_t(i)), kj = mix64(base ^ uint64_t(j));
        return ki < kj || (ki == kj && i < j);
    });
}

template <typename T>
FitResult fit(const Layout& L, T* params, const T* X, const T* y, int64_t m,
              const FitOptions& opt, double* loss_out, const LogHook& on_log,
              const PollHook& poll) {
    const int64_t n_in = L.inputs(), K = L.outputs(), P = L.num_params;
    const bool full = opt.batch_size <= 0 || opt.batch_size >= m;
    const int64_t bs = full ? m : opt.batch_size;
    const int64_t batches = full ? 1 : (m + bs - 1) / bs;
    const T lr = T(opt.lr);
    const Kernels<T>& k = kernels<T>();

    // Everything the loop touches is allocated here, once.
    Workspace<T> ws(L, bs);
    std::vector<T> grads(P), prev(P);
    std::vector<T> xb(full ? 0 : bs * n_in), yb(full ? 0 : bs * K);
    std::vector<int64_t> perm(full ? 0 : m);
    if (!full) std::iota(perm.begin(), perm.end(), int64_t(0));

    using clock = std::chrono::steady_clock;
    auto last_poll = clock::now();

    FitResult r;
    int64_t it = 0;
    for (int64_t epoch = 0; epoch < opt.epochs; epoch++) {
        if (!full && opt.shuffle) epoch_permutation(perm.data(), m, opt.seed, uint64_t(epoch));
        for (int64_t b = 0; b < batches; b++, it++) {
            const T* xs = X;
            const T* ys = y;
            int64_t rows = m;
            if (!full) {
                int64_t start = b * bs;
                rows = std::min(bs, m - start);
                for (int64_t r_ = 0; r_ < rows; r_++) {
                    int64_t src = perm[start + r_];
                    std::memcpy(xb.data() + r_ * n_in, X + src * n_in, sizeof(T) * n_in);
                    std::memcpy(yb.data() + r_ * K, y + src * K, sizeof(T) * K);
                }
                xs = xb.data();
                ys = yb.data();
            }

            bool updated = false;
            double loss = train_step(k, L, params, xs, ys, rows, lr, ws, grads.data(),
                                     prev.data(), updated);
            if (!std::isfinite(loss)) {
                // The previous update produced these weights: undo it.
                if (it > 0) std::memcpy(params, prev.data(), sizeof(T) * P);
                r.nonfinite = true;
                return r;
            }
            loss_out[it] = loss;
            r.iterations = it + 1;
            if (!updated) {
                // The update overflowed and was undone: params hold the
                // weights whose loss was just recorded.
                r.nonfinite = true;
                return r;
            }

            if (opt.log_every > 0 && it % opt.log_every == 0 && on_log && !on_log(it, loss)) {
                r.stopped = true;
                return r;
            }
            if (poll && (it & 63) == 0) {
                auto now = clock::now();
                if (now - last_poll > std::chrono::milliseconds(50)) {
                    last_poll = now;
                    poll(r.iterations);
                }
            }
        }
    }
    return r;
}

#define PLAINNET_INSTANTIATE(T)                                                                  \
    template void forward<T>(const Layout&, const T*, const T*, int64_t, T* const*, T* const*);  \
    template void predict<T>(const Layout&, const T*, const T*, int64_t, T*);                    \
    template double gradients<T>(const Layout&, const T*, const T*, const T*, int64_t, T*);      \
    template StepResult step<T>(const Layout&, T*, const T*, const T*, int64_t, double);         \
    template FitResult fit<T>(const Layout&, T*, const T*, const T*, int64_t, const FitOptions&, \
                              double*, const LogHook&, const PollHook&);

PLAINNET_INSTANTIATE(float)
PLAINNET_INSTANTIATE(double)

}  // namespace plainnet
