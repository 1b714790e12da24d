// The network functions: a network is passed as (params, sizes, activations),
// the flat parameter array and its layout. Each function converts and checks
// its arrays, releases the GIL and calls network.h, where what a step or a
// fit does is decided.
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "arrays.h"
#include "network.h"

namespace plainnet {
namespace bind {

std::pair<Optim, Optimizer> optimizer_arg(const py::dict& d) {
    if (!d.contains("name")) throw py::value_error("optimizer: expected a 'name' entry");
    py::handle name = d["name"];
    if (!py::isinstance<py::str>(name)) {
        throw py::type_error("optimizer: 'name' must be a str, got " +
                             py::str(py::type::of(name).attr("__name__")).cast<std::string>());
    }
    Optim kind;
    try {
        kind = optim_from_name(name.cast<std::string>());
    } catch (const std::invalid_argument& e) {
        throw py::value_error(std::string("optimizer: ") + e.what());
    }
    Optimizer o;
    const std::pair<const char*, double*> reals[] = {
        {"lr", &o.lr},           {"momentum", &o.momentum},   {"weight_decay", &o.weight_decay},
        {"beta1", &o.beta1},     {"beta2", &o.beta2},         {"eps", &o.eps},
        {"eta_minus", &o.eta_minus}, {"eta_plus", &o.eta_plus}, {"step_min", &o.step_min},
        {"step_max", &o.step_max}};
    for (auto item : d) {
        std::string key = py::str(item.first).cast<std::string>();
        py::handle value = item.second;
        std::string got = py::str(py::type::of(value).attr("__name__")).cast<std::string>();
        if (key == "name") continue;
        if (key == "nesterov") {
            if (!py::isinstance<py::bool_>(value)) {
                throw py::type_error("optimizer: setting 'nesterov' must be a bool, got " + got);
            }
            o.nesterov = value.cast<bool>();
            continue;
        }
        bool known = false;
        for (const auto& r : reals) {
            if (key != r.first) continue;
            known = true;
            bool real = (py::isinstance<py::float_>(value) || py::isinstance<py::int_>(value)) &&
                        !py::isinstance<py::bool_>(value);
            if (!real) {
                throw py::type_error("optimizer: setting '" + key + "' must be a real number, got " +
                                     got);
            }
            *r.second = value.cast<double>();
        }
        if (!known) throw py::value_error("optimizer: unknown setting '" + key + "'");
    }
    return {kind, o};
}

namespace {

using Sizes = std::vector<int64_t>;
using Names = std::vector<std::string>;

// std::invalid_argument from the core becomes ValueError (pybind11's mapping).
Layout make_layout(const Sizes& sizes, const Names& acts, const std::string& loss) {
    return Layout::from_names(sizes, acts, loss);
}

// The arrays every network function takes, checked and converted to T:
// params (num_params,) written in place, X (m, inputs), y (m, outputs).
template <typename T>
struct NetArrays {
    using type = T;
    py::array_t<T> params;
    In<T> X, y;
    int64_t m;
    NetArrays(const Layout& L, const py::handle& params_, const py::handle& X_)
        : params(as_output<T>(params_, "params")), X(as_input<T>(X_, "X")) {
        check_shape(params, "params", {L.num_params});
        check_ndim(X, "X", 2);
        m = X.shape(0);
        if (m < 1) throw py::value_error("X: expected at least 1 row, got 0");
        check_shape(X, "X", {m, L.inputs()});
    }
    NetArrays(const Layout& L, const py::handle& params_, const py::handle& X_,
              const py::handle& y_)
        : NetArrays(L, params_, X_) {
        y = as_input<T>(y_, "y");
        check_shape(y, "y", {m, L.outputs()});
    }
};

// f(L, arrays) for the network (params, sizes, acts) and its data X (and y,
// unless null), the arrays converted to the dtype of params.
template <typename F>
auto with_network(const py::handle& params_, const Sizes& sizes, const Names& acts,
                  const std::string& loss, const py::handle& X_, const py::handle* y_, F&& f) {
    Layout L = make_layout(sizes, acts, loss);
    return with_dtype(params_, "params", [&](auto tag) {
        using T = decltype(tag);
        if (y_ == nullptr) return f(L, NetArrays<T>(L, params_, X_));
        return f(L, NetArrays<T>(L, params_, X_, *y_));
    });
}

// The element type of a NetArrays argument.
template <class A>
using ElementOf = typename std::decay_t<A>::type;

// The poll of predict and evaluate: a pending Ctrl-C becomes KeyboardInterrupt
// (error_already_set).
const PollHook kCheckSignals = [](int64_t) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
};

// The thread Python runs signal handlers in (threading.main_thread()), set
// when the module is loaded and in a forked child.
std::atomic<unsigned long> g_main_thread{0};

// Whether a poll in this thread can see Ctrl-C. Python handles signals in its
// main thread only; elsewhere a poll would take the GIL every kPollMillis
// for nothing, competing with the threads that need it (readers serving
// requests, say). The caller holds the GIL.
bool signals_reach_this_thread() {
    return PyThread_get_thread_ident() == g_main_thread.load(std::memory_order_relaxed);
}

int64_t num_parameters(const Sizes& sizes) {
    return make_layout(sizes, Names(sizes.empty() ? 0 : sizes.size() - 1, "linear"), "mse")
        .num_params;
}

// The row panels of params' wide layers (network.h RowPanels) for the kernels
// in use: (width, array), or None when they read none or no layer is wider
// than a panel.
py::object row_panels(const py::handle& params_, const Sizes& sizes) {
    Layout L = make_layout(sizes, Names(sizes.empty() ? 0 : sizes.size() - 1, "linear"), "mse");
    return with_dtype(params_, "params", [&](auto tag) -> py::object {
        using T = decltype(tag);
        In<T> params = as_input<T>(params_, "params");
        check_shape(params, "params", {L.num_params});
        const int64_t width = row_panel_width<T>();
        const RowPanels R(L, width);
        if (R.size == 0) return py::none();
        py::array_t<T> panels(R.size);
        pack_row_panels(L, params.data(), width, panels.mutable_data());
        return py::make_tuple(width, panels);
    });
}

// forward's panels argument: None, or row_panels' (width, array) for the
// same params; the array is checked against the layout it must have.
template <typename T>
struct PanelsArg {
    py::array_t<T> array;
    std::optional<RowPanels> layout;  // none: no panels
};
template <typename T>
PanelsArg<T> panels_arg(const py::handle& obj, const Layout& L) {
    if (obj.is_none()) return {};
    if (!py::isinstance<py::tuple>(obj) || py::len(obj) != 2 ||
        !py::isinstance<py::int_>(py::reinterpret_borrow<py::tuple>(obj)[0])) {
        throw py::type_error("panels: expected None or row_panels' (width, array), got " +
                             py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
    }
    py::tuple t = py::reinterpret_borrow<py::tuple>(obj);
    const int64_t width = t[0].cast<int64_t>();
    py::array a = as_array(t[1], "panels");
    if (!py::array_t<T>::check_(a) || !(a.flags() & py::array::c_style)) {
        throw py::type_error("panels: expected a C-contiguous array of dtype " +
                             py::str(py::dtype::of<T>()).cast<std::string>() + ", got " +
                             dtype_str(a));
    }
    if (width < 1) throw py::value_error("panels: expected a width of at least 1");
    RowPanels layout(L, width);
    check_shape(a, "panels", {layout.size});
    return {py::reinterpret_borrow<py::array_t<T>>(a), std::move(layout)};
}

// A forward that reads less than this (rows x parameters x element size)
// keeps the GIL. Releasing and taking it back costs little alone, but with
// several threads predicting at once each call hands the GIL over twice:
// 8 threads making 2,000 one-row calls on one 784-128-10 float32 network
// took 32.8 ms releasing it against 16.7 ms for 1 thread, and 19.4 ms
// keeping it. The two were even at 784-256-10 float32 (0.8 MB, 15 us a
// call); releasing it won from 784-256-10 float64 (1.6 MB: 32 against 54 ms),
// where the call is long enough for another thread's Python to run meanwhile.
constexpr double kReleaseGilBytes = double(1 << 20);

py::array forward(const py::handle& params_, const Sizes& sizes, const Names& acts,
                  const std::string& loss, const py::handle& X_, const py::handle& panels_) {
    return with_network(params_, sizes, acts, loss, X_, nullptr, [&](const Layout& L, auto a) -> py::array {
        using T = ElementOf<decltype(a)>;
        const auto panels = panels_arg<T>(panels_, L);
        py::array_t<T> out({a.m, L.outputs()});
        T* o = out.mutable_data();
        const PollHook* poll = signals_reach_this_thread() ? &kCheckSignals : nullptr;
        try {
            std::optional<py::gil_scoped_release> nogil;
            if (double(a.m) * double(L.num_params) * sizeof(T) >= kReleaseGilBytes) nogil.emplace();
            predict(L, a.params.data(), a.X.data(), a.m, o, poll,
                    panels.layout ? panels.array.data() : nullptr,
                    panels.layout ? &*panels.layout : nullptr);
        } catch (const NonFiniteInput& e) {
            // The message plainnet's Python checks give (_checks.finite).
            std::string v = std::isnan(e.value) ? "nan" : e.value > 0 ? "inf" : "-inf";
            throw py::value_error("X: expected finite values, got " + v + " at index (" +
                                  std::to_string(e.row) + ", " + std::to_string(e.column) + ")");
        }
        return out;
    });
}

py::list forward_trace(const py::handle& params_, const Sizes& sizes, const Names& acts,
                       const std::string& loss, const py::handle& X_) {
    return with_network(params_, sizes, acts, loss, X_, nullptr, [](const Layout& L, auto a) -> py::list {
        using T = ElementOf<decltype(a)>;
        py::list trace;
        std::vector<T*> zs, as;
        for (int64_t l = 0; l < L.num_layers(); l++) {
            py::array_t<T> z({a.m, L.sizes[l + 1]}), act({a.m, L.sizes[l + 1]});
            zs.push_back(z.mutable_data());
            as.push_back(act.mutable_data());
            trace.append(py::make_tuple(z, act));
        }
        const PollHook* poll = signals_reach_this_thread() ? &kCheckSignals : nullptr;
        {
            py::gil_scoped_release nogil;
            plainnet::forward(L, a.params.data(), a.X.data(), a.m, zs.data(), as.data(), poll);
        }
        return trace;
    });
}

py::tuple gradients(const py::handle& params_, const Sizes& sizes, const Names& acts,
                    const std::string& loss, const py::handle& X_, const py::handle& y_) {
    return with_network(params_, sizes, acts, loss, X_, &y_, [](const Layout& L, auto a) -> py::tuple {
        using T = ElementOf<decltype(a)>;
        py::array_t<T> grads(L.num_params);
        T* g = grads.mutable_data();
        double loss;
        const PollHook* poll = signals_reach_this_thread() ? &kCheckSignals : nullptr;
        {
            py::gil_scoped_release nogil;
            loss = plainnet::gradients(L, a.params.data(), a.X.data(), a.y.data(), a.m, g, poll);
        }
        return py::make_tuple(loss, grads);
    });
}

double loss_and_gradient(const py::handle& params_, const Sizes& sizes, const Names& acts,
                         const std::string& loss, const py::handle& X_, const py::handle& y_,
                         const py::object& sample_weight_, double l2, const py::handle& grads_) {
    if (!(l2 >= 0.0) || !std::isfinite(l2)) throw py::value_error("l2: expected a finite number >= 0");
    return with_network(params_, sizes, acts, loss, X_, &y_, [&](const Layout& L, auto a) -> double {
        using T = ElementOf<decltype(a)>;
        py::array_t<T> grads = as_output<T>(grads_, "grads");
        check_shape(grads, "grads", {L.num_params});
        In<T> weights;
        if (!sample_weight_.is_none()) {
            weights = as_input<T>(sample_weight_, "sample_weight");
            check_shape(weights, "sample_weight", {a.m});
        }
        const T* w = sample_weight_.is_none() ? nullptr : weights.data();
        T* g = grads.mutable_data();
        const PollHook* poll = signals_reach_this_thread() ? &kCheckSignals : nullptr;
        py::gil_scoped_release nogil;
        return plainnet::loss_and_gradient(L, a.params.data(), a.X.data(), a.y.data(), w, a.m,
                                           l2, g, poll);
    });
}

py::tuple evaluate(const py::handle& params_, const Sizes& sizes, const Names& acts,
                   const std::string& loss, const py::handle& X_, const py::handle& y_) {
    return with_network(params_, sizes, acts, loss, X_, &y_, [](const Layout& L, auto a) {
        Evaluation ev;
        const PollHook* poll = signals_reach_this_thread() ? &kCheckSignals : nullptr;
        {
            py::gil_scoped_release nogil;
            ev = plainnet::evaluate(L, a.params.data(), a.X.data(), a.y.data(), a.m, poll);
        }
        return py::make_tuple(ev.loss, ev.correct);
    });
}

py::tuple step(const py::handle& params_, const Sizes& sizes, const Names& acts,
               const std::string& loss, const py::handle& X_, const py::handle& y_, double lr,
               const std::vector<double>& dropout, uint64_t seed) {
    return with_network(params_, sizes, acts, loss, X_, &y_, [&](const Layout& net, auto a) -> py::tuple {
        const Layout L = net.with_dropout(dropout);  // invalid_argument: ValueError
        StepResult r;
        {
            py::gil_scoped_release nogil;
            r = plainnet::step(L, a.params.mutable_data(), a.X.data(), a.y.data(), a.m, lr, seed);
        }
        return py::make_tuple(r.loss, r.updated);
    });
}

// The first n entries of a history vector, as a NumPy array.
py::array_t<double> to_array(const std::vector<double>& v, int64_t n) {
    n = std::min<int64_t>(n, int64_t(v.size()));
    py::array_t<double> out(n);
    std::copy_n(v.data(), size_t(n), out.mutable_data());
    return out;
}

std::string byte_count(double bytes) {
    char text[64];
    const char* unit = bytes >= 1e9 ? "GB" : bytes >= 1e6 ? "MB" : bytes >= 1e3 ? "kB" : "bytes";
    const double scale = bytes >= 1e9 ? 1e9 : bytes >= 1e6 ? 1e6 : bytes >= 1e3 ? 1e3 : 1.0;
    std::snprintf(text, sizeof text, "%.3g %s", bytes / scale, unit);
    return text;
}

// What a fit that ran out of memory needed: its buffers, by name and size.
std::string fit_memory_message(const Layout& L, int64_t m, int64_t batch_size, size_t item,
                               int64_t done) {
    const bool full = batch_size <= 0 || batch_size >= m;
    const double rows = double(full ? m : batch_size), size = double(item);
    double widths = 0, dropped = 0;
    for (int64_t l = 0; l < L.num_layers(); l++) {
        widths += double(L.sizes[l + 1]);
        if (L.dropout_of(l) > 0.0) dropped += double(L.sizes[l + 1]);
    }
    // z and a of every layer, and dropout's output and mask (a byte a unit) where it applies
    const double outputs = rows * (2 * widths * size + dropped * (size + 1));
    const double backward = 2 * rows * double(L.max_width) * size;
    const double grads = double(L.num_params) * size;
    const double batch = full ? 0 : rows * double(L.inputs() + L.outputs()) * size + 24.0 * m;
    std::string text = "fit: out of memory";
    text += done ? " after " + std::to_string(done) + " iterations (the history of losses grows "
                   "with them; the weights are those of the last one)"
                 : " before training started";
    text += ": batches of " + std::to_string(int64_t(rows)) + " rows need " +
            byte_count(outputs + backward + grads + batch) + " of buffers (every layer's output "
            "and weighted sum" + (dropped > 0 ? std::string(", dropout's masks") : std::string()) +
            ": " + byte_count(outputs) + "; the backward pass: " +
            byte_count(backward) + "; the gradient: " + byte_count(grads) +
            (full ? "" : "; the batch and the epoch's order: " + byte_count(batch)) +
            ") beside the data; use a smaller batch_size";
    return text;
}

int64_t iterations(int64_t m, int64_t epochs, int64_t batch_size) {
    int64_t n = fit_iterations(m, epochs, batch_size);
    if (n < 0) {
        throw py::value_error("epochs: " + std::to_string(epochs) +
                              " is negative or gives more than kMaxElements iterations");
    }
    return n;
}

std::string type_name(const py::handle& value) {
    return py::str(py::type::of(value).attr("__name__")).cast<std::string>();
}

// The fields of a FitPlan (python/plainnet/_plan.py), each read by name and
// checked for its type: a TypeError names the field. Network.fit builds
// plans that pass; these guard direct _core.fit calls.
int64_t plan_int(const py::handle& plan, const char* name) {
    py::object v = plan.attr(name);
    if (!py::isinstance<py::int_>(v) || py::isinstance<py::bool_>(v)) {
        throw py::type_error(std::string(name) + ": expected an int, got " + type_name(v));
    }
    try {
        return v.cast<int64_t>();
    } catch (const py::cast_error&) {
        throw py::value_error(std::string(name) + ": expected an int64, got " +
                              py::repr(v).cast<std::string>());
    }
}

uint64_t plan_seed(const py::handle& plan) {
    py::object v = plan.attr("seed");
    if (!py::isinstance<py::int_>(v) || py::isinstance<py::bool_>(v)) {
        throw py::type_error("seed: expected an int, got " + type_name(v));
    }
    try {
        return v.cast<uint64_t>();
    } catch (const py::cast_error&) {
        throw py::type_error("seed: expected an int in [0, 2**64), got " +
                             py::repr(v).cast<std::string>());
    }
}

double plan_real(const py::handle& plan, const char* name) {
    py::object v = plan.attr(name);
    if (!(py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v)) ||
        py::isinstance<py::bool_>(v)) {
        throw py::type_error(std::string(name) + ": expected a real number, got " + type_name(v));
    }
    return v.cast<double>();
}

// A real number > 0, or 0.0 for None (the core's "off").
double plan_limit(const py::handle& plan, const char* name) {
    if (plan.attr(name).is_none()) return 0.0;
    const double v = plan_real(plan, name);
    if (!(v > 0.0) || !std::isfinite(v)) {
        throw py::value_error(std::string(name) + ": expected a finite number > 0 or None");
    }
    return v;
}

bool plan_bool(const py::handle& plan, const char* name) {
    py::object v = plan.attr(name);
    if (!py::isinstance<py::bool_>(v)) {
        throw py::type_error(std::string(name) + ": expected a bool, got " + type_name(v));
    }
    return v.cast<bool>();
}

// {"name": "cosine", "t_max": 10, ...}: a schedule of network.h and its
// settings, as plainnet.optim.lr_scheduler writes them (unknown names and
// settings are a ValueError, wrong types a TypeError).
Schedule schedule_arg(const py::dict& d) {
    if (!d.contains("name") || !py::isinstance<py::str>(d["name"])) {
        throw py::type_error("schedule: expected a str 'name' entry");
    }
    Schedule s;
    try {
        s.kind = schedule_from_name(d["name"].cast<std::string>());
    } catch (const std::invalid_argument& e) {
        throw py::value_error(std::string("schedule: ") + e.what());
    }
    const std::pair<const char*, double*> reals[] = {
        {"base_lr", &s.base_lr},       {"gamma", &s.gamma},           {"eta_min", &s.eta_min},
        {"pct_start", &s.pct_start},   {"initial_lr", &s.initial_lr}, {"max_lr", &s.max_lr},
        {"base_momentum", &s.base_momentum}, {"max_momentum", &s.max_momentum},
        {"min_lr", &s.min_lr},         {"factor", &s.factor},         {"threshold", &s.threshold},
        {"eps", &s.eps},               {"power_t", &s.power_t},       {"stop_lr", &s.stop_lr}};
    const std::pair<const char*, int64_t*> ints[] = {
        {"step_size", &s.step_size}, {"t_max", &s.t_max},       {"total_steps", &s.total_steps},
        {"patience", &s.patience},   {"cooldown", &s.cooldown}};
    const std::pair<const char*, bool*> bools[] = {
        {"anneal_cos", &s.anneal_cos}, {"cycle_momentum", &s.cycle_momentum},
        {"three_phase", &s.three_phase}, {"mode_max", &s.mode_max},
        {"threshold_rel", &s.threshold_rel}};
    for (auto item : d) {
        const std::string key = py::str(item.first).cast<std::string>();
        py::handle v = item.second;
        if (key == "name") continue;
        const std::string what = "schedule: setting '" + key + "'";
        bool known = false;
        for (const auto& r : reals) {
            if (key != r.first) continue;
            known = true;
            if (!(py::isinstance<py::float_>(v) || py::isinstance<py::int_>(v)) ||
                py::isinstance<py::bool_>(v)) {
                throw py::type_error(what + " must be a real number, got " + type_name(v));
            }
            *r.second = v.cast<double>();
        }
        for (const auto& r : ints) {
            if (key != r.first) continue;
            known = true;
            if (!py::isinstance<py::int_>(v) || py::isinstance<py::bool_>(v)) {
                throw py::type_error(what + " must be an int, got " + type_name(v));
            }
            *r.second = v.cast<int64_t>();
            if (*r.second < 0) throw py::value_error(what + " must be >= 0");
        }
        for (const auto& r : bools) {
            if (key != r.first) continue;
            known = true;
            if (!py::isinstance<py::bool_>(v)) {
                throw py::type_error(what + " must be a bool, got " + type_name(v));
            }
            *r.second = v.cast<bool>();
        }
        if (key == "milestones") {
            known = true;
            if (!py::isinstance<py::list>(v)) {
                throw py::type_error(what + " must be a list of ints, got " + type_name(v));
            }
            for (auto x : v) {
                if (!py::isinstance<py::int_>(x) || py::isinstance<py::bool_>(x)) {
                    throw py::type_error(what + " must be a list of ints");
                }
                s.milestones.push_back(x.cast<int64_t>());
            }
        }
        if (!known) throw py::value_error("schedule: unknown setting '" + key + "'");
    }
    // Crash guards: a modulus or a phase length of 0.
    if (s.step_size < 1) throw py::value_error("schedule: step_size must be >= 1");
    if (s.t_max < 1) throw py::value_error("schedule: t_max must be >= 1");
    if (s.total_steps < 1) throw py::value_error("schedule: total_steps must be >= 1");
    return s;
}

py::tuple fit(const py::handle& params_, const Sizes& sizes, const Names& acts,
              const std::string& loss, const py::handle& X_, const py::handle& y_,
              const py::object& plan, const std::vector<double>& dropout) {
    const int64_t steps = plan_int(plan, "steps"), epochs = plan_int(plan, "epochs");
    const int64_t first_epoch = plan_int(plan, "first_epoch");
    const int64_t batch_size = plan_int(plan, "batch_size");
    const bool shuffle = plan_bool(plan, "shuffle");
    const uint64_t seed = plan_seed(plan);
    const int64_t log_every = plan_int(plan, "log_every");
    const int64_t patience = plan_int(plan, "patience");
    const double min_delta = plan_real(plan, "min_delta");
    const bool restore_best = plan_bool(plan, "restore_best");
    const double l2 = plan_real(plan, "l2");
    const double clip_norm = plan_limit(plan, "clip_norm");
    const double clip_value = plan_limit(plan, "clip_value");
    py::object callback = plan.attr("callback"), progress_ = plan.attr("progress");
    py::object X_val_ = plan.attr("X_val"), y_val_ = plan.attr("y_val");
    py::object sample_weight_ = plan.attr("sample_weight");
    py::object monitor_ = plan.attr("monitor"), optimizer_ = plan.attr("optimizer");
    py::object state_ = plan.attr("state");
    if (!py::isinstance<py::str>(monitor_)) {
        throw py::type_error("monitor: expected a str, got " + type_name(monitor_));
    }
    if (!py::isinstance<py::dict>(optimizer_)) {
        throw py::type_error("optimizer: expected a dict, got " + type_name(optimizer_));
    }
    if (!py::isinstance<py::list>(state_)) {
        throw py::type_error("state: expected a list of arrays, got " + type_name(state_));
    }
    if (batch_size < 0) throw py::value_error("batch_size: expected >= 0");
    if (log_every < 0) throw py::value_error("log_every: expected >= 0");
    if (steps < 0) throw py::value_error("steps: expected >= 0");
    if (first_epoch < 0) throw py::value_error("first_epoch: expected >= 0");
    if (patience < 0) throw py::value_error("patience: expected >= 0");
    if (!(l2 >= 0.0) || !std::isfinite(l2)) throw py::value_error("l2: expected a finite number >= 0");
    if (!progress_.is_none() && !PyCallable_Check(progress_.ptr())) {
        throw py::type_error("progress: expected a callable or None, got " + type_name(progress_));
    }
    if (X_val_.is_none() != y_val_.is_none()) {
        throw py::value_error("X_val, y_val: expected both or neither");
    }
    auto [kind, settings] = optimizer_arg(optimizer_.cast<py::dict>());
    const Monitor watch = monitor_from_name(monitor_.cast<std::string>());  // ValueError
    const py::list state_list = state_.cast<py::list>();
    py::object schedule_ = plan.attr("schedule"), schedule_state_ = plan.attr("schedule_state");
    Schedule schedule;
    py::array_t<double> schedule_state;
    if (!schedule_.is_none()) {
        if (!py::isinstance<py::dict>(schedule_)) {
            throw py::type_error("schedule: expected a dict or None, got " + type_name(schedule_));
        }
        schedule = schedule_arg(schedule_.cast<py::dict>());
        schedule_state = as_output<double>(schedule_state_, "schedule_state");
        check_shape(schedule_state, "schedule_state", {int64_t(kScheduleSlots)});
        const double last = schedule_state.data()[kLastEpoch];
        if (!(last >= 0.0 && last <= 9007199254740992.0)) {  // an exact count, < 2**53
            throw py::value_error("schedule_state: the step count must be in [0, 2**53]");
        }
    }
    return with_network(params_, sizes, acts, loss, X_, &y_, [&](const Layout& net, auto a) -> py::tuple {
        using T = ElementOf<decltype(a)>;
        const Layout L = net.with_dropout(dropout);  // invalid_argument: ValueError
        FitOptions opt;
        opt.optim = kind;
        opt.settings = settings;
        opt.steps = steps;
        opt.epochs = epochs;
        opt.first_epoch = first_epoch;
        opt.batch_size = batch_size;
        opt.shuffle = shuffle;
        opt.seed = seed;
        opt.log_every = callback.is_none() ? 0 : log_every;
        opt.monitor = watch;
        opt.patience = patience;
        opt.min_delta = min_delta;
        opt.restore_best = restore_best;
        opt.l2 = l2;
        opt.clip_norm = clip_norm;
        opt.clip_value = clip_value;
        opt.schedule = schedule;
        if (schedule.kind != Sched::none) opt.schedule_state = schedule_state.mutable_data();

        StateArrays<T> state(state_list, optimizer_slots(kind), {L.num_params});
        In<T> X_val, y_val;
        int64_t m_val = 0;
        if (!X_val_.is_none()) {
            X_val = as_input<T>(X_val_, "X_val");
            check_ndim(X_val, "X_val", 2);
            m_val = X_val.shape(0);
            if (m_val < 1) throw py::value_error("X_val: expected at least 1 row, got 0");
            check_shape(X_val, "X_val", {m_val, L.inputs()});
            y_val = as_input<T>(y_val_, "y_val");
            check_shape(y_val, "y_val", {m_val, L.outputs()});
        }
        In<T> weights;
        if (!sample_weight_.is_none()) {
            weights = as_input<T>(sample_weight_, "sample_weight");
            check_shape(weights, "sample_weight", {a.m});
            const T* wd = weights.data();
            for (int64_t i = 0; i < a.m; i++) {
                if (!(wd[i] >= T(0)) || !std::isfinite(wd[i])) {
                    throw py::value_error("sample_weight: expected finite numbers >= 0");
                }
            }
        }
        iterations(a.m, epochs, batch_size);  // ValueError beyond kMaxElements
        // Both grow with the iterations run (network.h): nothing is sized
        // for the epochs asked for.
        std::vector<double> losses, per_epoch;

        // Iterations completed when a hook last ran Python code (which may raise).
        int64_t completed = 0;
        LogHook on_log = [&callback, &completed](int64_t it, double loss) {
            completed = it + 1;
            py::gil_scoped_acquire gil;
            py::object r = callback(it, loss);
            return !(r.is(py::bool_(false)));
        };
        PollHook poll;
        if (signals_reach_this_thread()) {
            poll = [&completed](int64_t done) {
                completed = done;
                kCheckSignals(done);
            };
        }
        ProgressHook progress;
        if (!progress_.is_none()) {
            progress = [&progress_, &completed](int64_t epochs_done, int64_t done,
                                                const double* row) {
                completed = done;
                py::gil_scoped_acquire gil;
                progress_(epochs_done, done, py::make_tuple(row[0], row[1], row[2], row[3]));
            };
        }
        T* p = a.params.mutable_data();
        const T *x = a.X.data(), *t = a.y.data();
        const T* wt = sample_weight_.is_none() ? nullptr : weights.data();
        const T *xv = m_val ? X_val.data() : nullptr, *yv = m_val ? y_val.data() : nullptr;
        FitResult r;
        try {
            py::gil_scoped_release nogil;
            r = plainnet::fit(L, p, state.data.data(), x, t, wt, a.m, xv, yv, m_val, opt, losses,
                              per_epoch, on_log, poll, progress);
        } catch (py::error_already_set& e) {
            // Ctrl-C seen by the poll, or an exception raised inside the
            // callback, stops between iterations: params and state hold the
            // last completed one. Say which.
            try {
                e.value().attr("plainnet_partial_fit") =
                    py::make_tuple(to_array(losses, completed), completed);
            } catch (py::error_already_set&) {
                // an exception object that takes no attributes: nothing to report
            }
            throw;
        } catch (std::bad_alloc&) {
            // Before training (the buffers) or between iterations (the
            // history): params and state hold the last completed iteration.
            const int64_t done = int64_t(losses.size());
            py::object err = py::module_::import("builtins").attr("MemoryError")(
                fit_memory_message(L, a.m, batch_size, sizeof(T), done));
            if (done > 0) {  // before the first iteration nothing changed
                err.attr("plainnet_partial_fit") = py::make_tuple(to_array(losses, done), done);
            }
            PyErr_SetObject(PyExc_MemoryError, err.ptr());
            throw py::error_already_set();
        }
        const char* status = r.nonfinite        ? "nonfinite"
                             : r.stopped        ? "stopped"
                             : r.early_stopped  ? "early_stopped"
                                                : "done";
        py::array_t<double> table({r.epochs, int64_t(kEpochColumns)});
        std::copy_n(per_epoch.data(), size_t(r.epochs) * kEpochColumns, table.mutable_data());
        return py::make_tuple(to_array(losses, r.iterations), r.iterations, status, r.updates,
                              table, r.best_epoch);
    });
}

py::array_t<double> dropout_mask(int64_t n, double p, uint64_t seed, uint64_t epoch,
                                 uint64_t batch, uint64_t layer) {
    if (n < 0) throw py::value_error("n: expected >= 0, got " + std::to_string(n));
    if (!(p >= 0.0 && p < 1.0)) {
        throw py::value_error("p: expected a rate in [0, 1), got " + std::to_string(p));
    }
    py::array_t<double> keep(n);
    dropout_keep(keep.mutable_data(), n, p, dropout_stream(seed, epoch, batch, layer));
    return keep;
}

py::array permutation(int64_t m, uint64_t seed, uint64_t epoch) {
    if (m < 0) throw py::value_error("m: expected >= 0, got " + std::to_string(m));
    py::array_t<int64_t> perm(m);
    epoch_permutation(perm.mutable_data(), m, seed, epoch);
    return perm;
}

}  // namespace

void register_network(py::module_& m) {
    g_main_thread = py::module_::import("threading")
                        .attr("main_thread")()
                        .attr("ident")
                        .cast<unsigned long>();
    py::module_ os = py::module_::import("os");
    if (py::hasattr(os, "register_at_fork")) {
        // The thread that forked is the child's main thread.
        os.attr("register_at_fork")(py::arg("after_in_child") = py::cpp_function([] {
            g_main_thread = PyThread_get_thread_ident();
        }));
    }
    m.attr("MAX_ELEMENTS") = kMaxElements;
    m.attr("PROGRESS_INTERVAL") = double(kProgressMillis) / 1000.0;
    m.def("num_parameters", &num_parameters, py::arg("sizes"));
    m.attr("MONITORS") = [] {
        py::list names;
        for (const char* name : kMonitorNames) names.append(name);
        return py::tuple(names);
    }();
    m.attr("OPTIMIZERS") = [] {
        py::list names;
        for (const char* name : kOptimNames) names.append(name);
        return py::tuple(names);
    }();
    m.def("forward", &forward, py::arg("params"), py::arg("sizes"), py::arg("activations"),
          py::arg("loss"), py::arg("X"), py::arg("panels") = py::none(),
          "Predictions (m, outputs); allocates no training workspace. X is checked for NaN/Inf "
          "as it is read (ValueError). panels: row_panels(params, sizes), read for a few rows "
          "instead of the weights (the same results, bit for bit), or None.");
    m.def("row_panels", &row_panels, py::arg("params"), py::arg("sizes"),
          "(width, copy of the wide layers' weights in row panels) for forward's panels, for "
          "the kernel variant in use; None when it has nothing to copy.");
    m.def("forward_trace", &forward_trace, py::arg("params"), py::arg("sizes"),
          py::arg("activations"), py::arg("loss"), py::arg("X"), "[(z_l, a_l) for each layer].");
    m.def("gradients", &gradients, py::arg("params"), py::arg("sizes"), py::arg("activations"),
          py::arg("loss"), py::arg("X"), py::arg("y"), "(loss, flat gradient of E).");
    m.def("loss_and_gradient", &loss_and_gradient, py::arg("params"), py::arg("sizes"),
          py::arg("activations"), py::arg("loss"), py::arg("X"), py::arg("y"),
          py::arg("sample_weight").none(true), py::arg("l2"), py::arg("grads"),
          "The full-batch objective (E plus the l2 penalty) of all rows; its gradient into "
          "grads (num_params, the dtype of params).");
    m.def("evaluate", &evaluate, py::arg("params"), py::arg("sizes"), py::arg("activations"),
          py::arg("loss"), py::arg("X"), py::arg("y"),
          "(loss, number of right predictions: rows for cross_entropy, outputs for "
          "binary_cross_entropy, 0 for mse).");
    m.def("step", &step, py::arg("params"), py::arg("sizes"), py::arg("activations"),
          py::arg("loss"), py::arg("X"), py::arg("y"), py::arg("lr"),
          py::arg("dropout") = std::vector<double>(), py::arg("seed") = 0,
          "One gradient-descent update in place; (loss before it, whether params changed). "
          "dropout: one rate per hidden layer (empty: none), its masks keyed by seed.");
    m.def("fit", &fit, py::arg("params"), py::arg("sizes"), py::arg("activations"),
          py::arg("loss"), py::arg("X"), py::arg("y"), py::arg("plan"),
          py::arg("dropout") = std::vector<double>(),
          "The fused training loop, as plan (a plainnet._plan.FitPlan) says, with dropout's rates "
          "(one per hidden layer, empty: none); (losses, iterations, status, updates, per-epoch table "
          "[loss, accuracy, val_loss, val_accuracy], best epoch of the monitored quantity). "
          "progress(epochs, iterations, row) is called after an epoch at most every "
          "PROGRESS_INTERVAL seconds.");
    m.def("fit_iterations", &iterations, py::arg("m"), py::arg("epochs"), py::arg("batch_size"));
    m.def("dropout_mask", &dropout_mask, py::arg("n"), py::arg("p"), py::arg("seed"),
          py::arg("epoch"), py::arg("batch"), py::arg("layer"),
          "Dropout's multipliers (0 dropped, 1 / (1 - p) kept) of n units of hidden layer "
          "`layer` on batch `batch` of epoch `epoch` of a fit with `seed`, in float64.");
    m.def("epoch_permutation", &permutation, py::arg("m"), py::arg("seed"), py::arg("epoch"));
}

}  // namespace bind
}  // namespace plainnet
