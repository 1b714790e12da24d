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

py::array forward(const py::handle& params_, const Sizes& sizes, const Names& acts,
                  const std::string& loss, const py::handle& X_) {
    return with_network(params_, sizes, acts, loss, X_, nullptr, [](const Layout& L, auto a) -> py::array {
        using T = ElementOf<decltype(a)>;
        py::array_t<T> out({a.m, L.outputs()});
        T* o = out.mutable_data();
        const PollHook* poll = signals_reach_this_thread() ? &kCheckSignals : nullptr;
        try {
            py::gil_scoped_release nogil;
            predict(L, a.params.data(), a.X.data(), a.m, o, poll);
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
        {
            py::gil_scoped_release nogil;
            plainnet::forward(L, a.params.data(), a.X.data(), a.m, zs.data(), as.data());
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
        {
            py::gil_scoped_release nogil;
            loss = plainnet::gradients(L, a.params.data(), a.X.data(), a.y.data(), a.m, g);
        }
        return py::make_tuple(loss, grads);
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

py::tuple fit(const py::handle& params_, const Sizes& sizes, const Names& acts,
              const std::string& loss, const py::handle& X_, const py::handle& y_,
              const py::dict& optimizer, const py::list& state_, int64_t steps, int64_t epochs,
              int64_t batch_size, bool shuffle, uint64_t seed, int64_t log_every,
              const py::object& callback, const py::object& X_val_, const py::object& y_val_,
              int64_t patience, double min_delta, bool restore_best, int64_t first_epoch,
              const std::string& monitor, const py::object& sample_weight_, double l2,
              const py::object& progress_, const std::vector<double>& dropout) {
    if (batch_size < 0) throw py::value_error("batch_size: expected >= 0");
    if (log_every < 0) throw py::value_error("log_every: expected >= 0");
    if (steps < 0) throw py::value_error("steps: expected >= 0");
    if (first_epoch < 0) throw py::value_error("first_epoch: expected >= 0");
    if (patience < 0) throw py::value_error("patience: expected >= 0");
    if (!(l2 >= 0.0) || !std::isfinite(l2)) throw py::value_error("l2: expected a finite number >= 0");
    if (!progress_.is_none() && !PyCallable_Check(progress_.ptr())) {
        throw py::type_error("progress: expected a callable or None, got " +
                             py::str(py::type::of(progress_).attr("__name__")).cast<std::string>());
    }
    if (X_val_.is_none() != y_val_.is_none()) {
        throw py::value_error("X_val, y_val: expected both or neither");
    }
    auto [kind, settings] = optimizer_arg(optimizer);
    const Monitor watch = monitor_from_name(monitor);  // invalid_argument: ValueError
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

        StateArrays<T> state(state_, optimizer_slots(kind), {L.num_params});
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
          py::arg("loss"), py::arg("X"),
          "Predictions (m, outputs); allocates no training workspace. X is checked for NaN/Inf "
          "as it is read (ValueError).");
    m.def("forward_trace", &forward_trace, py::arg("params"), py::arg("sizes"),
          py::arg("activations"), py::arg("loss"), py::arg("X"), "[(z_l, a_l) for each layer].");
    m.def("gradients", &gradients, py::arg("params"), py::arg("sizes"), py::arg("activations"),
          py::arg("loss"), py::arg("X"), py::arg("y"), "(loss, flat gradient of E).");
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
          py::arg("loss"), py::arg("X"), py::arg("y"), py::arg("optimizer"), py::arg("state"),
          py::arg("steps"), py::arg("epochs"), py::arg("batch_size"), py::arg("shuffle"),
          py::arg("seed"), py::arg("log_every"), py::arg("callback").none(true),
          py::arg("X_val").none(true), py::arg("y_val").none(true), py::arg("patience"),
          py::arg("min_delta"), py::arg("restore_best"), py::arg("first_epoch") = 0,
          py::arg("monitor") = "val_loss", py::arg("sample_weight").none(true) = py::none(),
          py::arg("l2") = 0.0, py::arg("progress").none(true) = py::none(),
          py::arg("dropout") = std::vector<double>(),
          "The fused training loop; (losses, iterations, status, updates, per-epoch table "
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
