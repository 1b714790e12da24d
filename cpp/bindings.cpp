// plainnet._core: the only file that knows about Python.
//
// Every function validates its arguments (dtype, ndim, every shape relation)
// and raises TypeError/ValueError naming the argument, then takes raw
// pointers, releases the GIL and calls the kernels. Inputs are converted to
// the working dtype (float64 or float32, chosen by the first array argument);
// arrays the core writes into must already have that dtype, be C-contiguous
// and writeable.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "dispatch.h"
#include "kernels.h"
#include "network.h"
#include "threads.h"

namespace py = pybind11;
using namespace plainnet;

namespace {

std::string shape_str(const py::array& a) {
    std::ostringstream s;
    s << "(";
    for (py::ssize_t i = 0; i < a.ndim(); i++) s << (i ? ", " : "") << a.shape(i);
    s << (a.ndim() == 1 ? ",)" : ")");
    return s.str();
}

std::string shape_str(const std::vector<int64_t>& dims) {
    std::ostringstream s;
    s << "(";
    for (size_t i = 0; i < dims.size(); i++) s << (i ? ", " : "") << dims[i];
    s << (dims.size() == 1 ? ",)" : ")");
    return s.str();
}

std::string dtype_str(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

// Converts a read-only input to a C-contiguous array of T. Only real numbers
// (bool, int, uint, float) are accepted.
template <typename T>
py::array_t<T, py::array::c_style | py::array::forcecast> as_input(const py::handle& obj,
                                                                     const char* name) {
    if (!py::isinstance<py::array>(obj)) {
        throw py::type_error(std::string(name) + ": expected a NumPy array, got " +
                             py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
    }
    auto a = py::reinterpret_borrow<py::array>(obj);
    char kind = a.dtype().kind();
    if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b') {
        throw py::type_error(std::string(name) + ": expected an array of real numbers, got dtype " +
                             dtype_str(a));
    }
    return py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(a);
}

// An array the core writes into: exactly dtype T, C-contiguous, writeable.
template <typename T>
py::array_t<T> as_output(const py::handle& obj, const char* name) {
    if (!py::isinstance<py::array>(obj)) {
        throw py::type_error(std::string(name) + ": expected a NumPy array, got " +
                             py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
    }
    auto a = py::reinterpret_borrow<py::array>(obj);
    // check_ compares dtypes with PyArray_EquivTypes: an equal dtype that is a
    // different object (e.g. after pickling) is accepted, a byte-swapped one is not.
    if (!py::array_t<T>::check_(a)) {
        throw py::type_error(std::string(name) + ": expected dtype " +
                             py::str(py::dtype::of<T>()).cast<std::string>() + ", got " +
                             dtype_str(a));
    }
    if (!(a.flags() & py::array::c_style)) {
        throw py::value_error(std::string(name) + ": expected a C-contiguous array");
    }
    if (!a.writeable()) throw py::value_error(std::string(name) + ": array is read-only");
    return py::reinterpret_borrow<py::array_t<T>>(a);
}

void check_shape(const py::array& a, const char* name, const std::vector<int64_t>& dims) {
    bool ok = a.ndim() == py::ssize_t(dims.size());
    for (size_t i = 0; ok && i < dims.size(); i++) ok = a.shape(i) == dims[i];
    if (!ok) {
        throw py::value_error(std::string(name) + ": expected shape " + shape_str(dims) +
                              ", got " + shape_str(a));
    }
}

void check_ndim(const py::array& a, const char* name, py::ssize_t ndim) {
    if (a.ndim() != ndim) {
        throw py::value_error(std::string(name) + ": expected a " + std::to_string(ndim) +
                              "-D array, got shape " + shape_str(a));
    }
}

// Calls f(T{}) with T = double or float, from the dtype of `obj` (the array
// that decides the working precision).
template <typename F>
auto dispatch(const py::handle& obj, const char* name, F&& f) {
    if (!py::isinstance<py::array>(obj)) {
        throw py::type_error(std::string(name) + ": expected a NumPy array");
    }
    auto a = py::reinterpret_borrow<py::array>(obj);
    if (py::array_t<double>::check_(a)) return f(double{});
    if (py::array_t<float>::check_(a)) return f(float{});
    throw py::type_error(std::string(name) + ": expected dtype float64 or float32, got " +
                         dtype_str(a));
}

Layout make_layout(const std::vector<int64_t>& sizes, const std::vector<std::string>& acts) {
    std::vector<Act> codes;
    for (const auto& n : acts) {
        try {
            codes.push_back(act_from_name(n));
        } catch (const std::invalid_argument& e) {
            throw py::value_error(std::string("activations: ") + e.what());
        }
    }
    try {
        return Layout(sizes, codes);
    } catch (const std::invalid_argument& e) {
        throw py::value_error(e.what());
    }
}

// fit_iterations, refusing counts that would overflow int64 arithmetic.
int64_t checked_iterations(int64_t m, int64_t epochs, int64_t batch_size) {
    if (epochs < 0) throw py::value_error("epochs: expected >= 0, got " + std::to_string(epochs));
    int64_t per_epoch = fit_iterations(m, 1, batch_size);
    if (epochs > kMaxElements / per_epoch) {
        throw py::value_error("epochs: " + std::to_string(epochs) + " epochs of " +
                              std::to_string(per_epoch) + " iterations each is more than " +
                              std::to_string(kMaxElements) + " iterations");
    }
    return epochs * per_epoch;
}

template <typename T>
py::array_t<T> check_params(const py::handle& obj, const Layout& L) {
    auto p = as_output<T>(obj, "params");
    check_shape(p, "params", {L.num_params});
    return p;
}

// X (m, inputs) and, when given, y (m, outputs), both as T.
template <typename T>
py::array_t<T, py::array::c_style | py::array::forcecast> check_x(const py::handle& X,
                                                                   const Layout& L) {
    auto x = as_input<T>(X, "X");
    check_ndim(x, "X", 2);
    if (x.shape(0) < 1) throw py::value_error("X: expected at least 1 row, got 0");
    if (x.shape(1) != L.inputs()) {
        throw py::value_error("X: expected " + std::to_string(L.inputs()) +
                              " columns (the network's inputs), got shape " + shape_str(x));
    }
    return x;
}

template <typename T>
py::array_t<T, py::array::c_style | py::array::forcecast> check_y(const py::handle& y,
                                                                   const Layout& L, int64_t m) {
    auto t = as_input<T>(y, "y");
    check_shape(t, "y", {m, L.outputs()});
    return t;
}

// ---------------------------------------------------------------- kernels

py::array dense_forward_py(const py::handle& inp_, const py::handle& weight_,
                           const py::handle& bias_) {
    return dispatch(weight_, "weight", [&](auto tag) -> py::array {
        using T = decltype(tag);
        auto inp = as_input<T>(inp_, "inp");
        auto weight = as_input<T>(weight_, "weight");
        auto bias = as_input<T>(bias_, "bias");
        check_ndim(inp, "inp", 2);
        check_ndim(weight, "weight", 2);
        int64_t B = inp.shape(0), C = inp.shape(1), OC = weight.shape(1);
        check_shape(weight, "weight", {C, OC});
        check_shape(bias, "bias", {OC});
        py::array_t<T> out({B, OC});
        T* o = out.mutable_data();
        const T *i = inp.data(), *w = weight.data(), *b = bias.data();
        {
            py::gil_scoped_release nogil;
            kernels<T>().dense_forward(o, i, w, b, B, C, OC);
        }
        return out;
    });
}

void dense_backward_py(const py::handle& dinp_, const py::handle& dweight_,
                       const py::handle& dbias_, const py::handle& dout_, const py::handle& inp_,
                       const py::handle& weight_) {
    dispatch(dweight_, "dweight", [&](auto tag) {
        using T = decltype(tag);
        auto dweight = as_output<T>(dweight_, "dweight");
        auto dbias = as_output<T>(dbias_, "dbias");
        auto dout = as_input<T>(dout_, "dout");
        auto inp = as_input<T>(inp_, "inp");
        auto weight = as_input<T>(weight_, "weight");
        check_ndim(inp, "inp", 2);
        check_ndim(weight, "weight", 2);
        int64_t B = inp.shape(0), C = inp.shape(1), OC = weight.shape(1);
        check_shape(weight, "weight", {C, OC});
        check_shape(dout, "dout", {B, OC});
        check_shape(dweight, "dweight", {C, OC});
        check_shape(dbias, "dbias", {OC});
        T* di = nullptr;
        py::array_t<T> dinp;
        if (!dinp_.is_none()) {
            dinp = as_output<T>(dinp_, "dinp");
            check_shape(dinp, "dinp", {B, C});
            di = dinp.mutable_data();
        }
        T *dw = dweight.mutable_data(), *db = dbias.mutable_data();
        const T *d = dout.data(), *i = inp.data(), *w = weight.data();
        py::gil_scoped_release nogil;
        kernels<T>().dense_backward(di, dw, db, d, i, w, B, C, OC);
    });
}

py::array activation_forward_py(const py::handle& z_, const std::string& name) {
    Act act = make_layout({1, 1}, {name}).acts[0];
    return dispatch(z_, "z", [&](auto tag) -> py::array {
        using T = decltype(tag);
        auto z = as_input<T>(z_, "z");
        py::array_t<T> out(std::vector<py::ssize_t>(z.shape(), z.shape() + z.ndim()));
        T* o = out.mutable_data();
        const T* zp = z.data();
        int64_t N = z.size();
        {
            py::gil_scoped_release nogil;
            kernels<T>().activation_forward(o, zp, N, act);
        }
        return out;
    });
}

void activation_backward_py(const py::handle& dz_, const py::handle& dout_, const py::handle& z_,
                            const py::handle& a_, const std::string& name) {
    Act act = make_layout({1, 1}, {name}).acts[0];
    dispatch(dz_, "dz", [&](auto tag) {
        using T = decltype(tag);
        auto dz = as_output<T>(dz_, "dz");
        auto dout = as_input<T>(dout_, "dout");
        auto z = as_input<T>(z_, "z");
        auto a = as_input<T>(a_, "a");
        std::vector<int64_t> dims(dz.shape(), dz.shape() + dz.ndim());
        check_shape(dout, "dout", dims);
        check_shape(z, "z", dims);
        check_shape(a, "a", dims);
        T* dzp = dz.mutable_data();
        const T *dp = dout.data(), *zp = z.data(), *ap = a.data();
        int64_t N = dz.size();
        py::gil_scoped_release nogil;
        kernels<T>().activation_backward(dzp, dp, zp, ap, N, act);
    });
}

double mse_forward_py(const py::handle& pred_, const py::handle& target_) {
    return dispatch(pred_, "pred", [&](auto tag) -> double {
        using T = decltype(tag);
        auto pred = as_input<T>(pred_, "pred");
        auto target = as_input<T>(target_, "target");
        check_ndim(pred, "pred", 2);
        check_shape(target, "target", {pred.shape(0), pred.shape(1)});
        if (pred.size() == 0) throw py::value_error("pred: expected a non-empty array");
        return mse_forward(pred.data(), target.data(), pred.shape(0), pred.shape(1));
    });
}

void mse_backward_py(const py::handle& dpred_, const py::handle& pred_, const py::handle& target_) {
    dispatch(dpred_, "dpred", [&](auto tag) {
        using T = decltype(tag);
        auto dpred = as_output<T>(dpred_, "dpred");
        auto pred = as_input<T>(pred_, "pred");
        auto target = as_input<T>(target_, "target");
        check_ndim(dpred, "dpred", 2);
        int64_t B = dpred.shape(0), K = dpred.shape(1);
        if (B < 1) throw py::value_error("dpred: expected at least 1 row, got 0");
        check_shape(pred, "pred", {B, K});
        check_shape(target, "target", {B, K});
        mse_backward(dpred.mutable_data(), pred.data(), target.data(), B, K);
    });
}

void sgd_update_py(const py::handle& params_, const py::handle& grads_, double lr) {
    dispatch(params_, "params", [&](auto tag) {
        using T = decltype(tag);
        auto params = as_output<T>(params_, "params");
        auto grads = as_input<T>(grads_, "grads");
        std::vector<int64_t> dims(params.shape(), params.shape() + params.ndim());
        check_shape(grads, "grads", dims);
        T* p = params.mutable_data();
        const T* g = grads.data();
        int64_t N = params.size();
        py::gil_scoped_release nogil;
        kernels<T>().sgd_update(p, g, T(lr), N);
    });
}

// ---------------------------------------------------------------- network

using Sizes = std::vector<int64_t>;
using Names = std::vector<std::string>;

int64_t num_parameters_py(const Sizes& sizes) {
    Names acts(sizes.empty() ? 0 : sizes.size() - 1, "linear");
    return make_layout(sizes, acts).num_params;
}

// The arguments every network function takes, checked and converted to T.
template <typename T>
struct NetArgs {
    py::array_t<T> params;
    py::array_t<T, py::array::c_style | py::array::forcecast> X, y;
    int64_t m;
    NetArgs(const Layout& L, const py::handle& params_, const py::handle& X_)
        : params(check_params<T>(params_, L)), X(check_x<T>(X_, L)), m(X.shape(0)) {}
    NetArgs(const Layout& L, const py::handle& params_, const py::handle& X_, const py::handle& y_)
        : NetArgs(L, params_, X_) {
        y = check_y<T>(y_, L, m);
    }
};

template <typename T>
Workspace<T> run_forward(const Layout& L, const NetArgs<T>& a) {
    py::gil_scoped_release nogil;
    Workspace<T> ws(L, a.m);
    forward(L, a.params.data(), a.X.data(), a.m, ws);
    return ws;
}

// Zeroes grads, then runs forward and backward; returns the MSE.
template <typename T>
double run_gradients(const Layout& L, const NetArgs<T>& a, T* grads) {
    py::gil_scoped_release nogil;
    Workspace<T> ws(L, a.m);
    std::fill_n(grads, L.num_params, T(0));
    forward(L, a.params.data(), a.X.data(), a.m, ws);
    return backward(L, a.params.data(), a.X.data(), a.y.data(), a.m, ws, grads);
}

py::array forward_py(const py::handle& params_, const Sizes& sizes, const Names& acts,
                     const py::handle& X_) {
    Layout L = make_layout(sizes, acts);
    return dispatch(params_, "params", [&](auto tag) -> py::array {
        using T = decltype(tag);
        NetArgs<T> a(L, params_, X_);
        Workspace<T> ws = run_forward(L, a);
        py::array_t<T> out({a.m, L.outputs()});
        std::copy_n(ws.output(), a.m * L.outputs(), out.mutable_data());
        return out;
    });
}

py::list forward_trace_py(const py::handle& params_, const Sizes& sizes, const Names& acts,
                          const py::handle& X_) {
    Layout L = make_layout(sizes, acts);
    return dispatch(params_, "params", [&](auto tag) -> py::list {
        using T = decltype(tag);
        NetArgs<T> a(L, params_, X_);
        Workspace<T> ws = run_forward(L, a);
        py::list trace;
        for (int64_t l = 0; l < L.num_layers(); l++) {
            int64_t w = L.sizes[l + 1];
            py::array_t<T> z({a.m, w}), act({a.m, w});
            std::copy_n(ws.z_of(l), a.m * w, z.mutable_data());
            std::copy_n(ws.a_of(l), a.m * w, act.mutable_data());
            trace.append(py::make_tuple(z, act));
        }
        return trace;
    });
}

py::tuple gradients_py(const py::handle& params_, const Sizes& sizes, const Names& acts,
                       const py::handle& X_, const py::handle& y_) {
    Layout L = make_layout(sizes, acts);
    return dispatch(params_, "params", [&](auto tag) -> py::tuple {
        using T = decltype(tag);
        NetArgs<T> a(L, params_, X_, y_);
        py::array_t<T> grads(L.num_params);
        double loss = run_gradients(L, a, grads.mutable_data());
        return py::make_tuple(loss, grads);
    });
}

double step_py(const py::handle& params_, const Sizes& sizes, const Names& acts,
               const py::handle& X_, const py::handle& y_, double lr) {
    Layout L = make_layout(sizes, acts);
    return dispatch(params_, "params", [&](auto tag) -> double {
        using T = decltype(tag);
        NetArgs<T> a(L, params_, X_, y_);
        std::vector<T> grads(L.num_params);
        double loss = run_gradients(L, a, grads.data());
        // A non-finite loss leaves the parameters as they were.
        if (std::isfinite(loss)) {
            kernels<T>().sgd_update(a.params.mutable_data(), grads.data(), T(lr), L.num_params);
        }
        return loss;
    });
}

py::tuple fit_py(const py::handle& params_, const Sizes& sizes, const Names& acts,
                 const py::handle& X_, const py::handle& y_, double lr, int64_t epochs,
                 int64_t batch_size, bool shuffle, uint64_t seed, int64_t log_every,
                 const py::object& callback) {
    Layout L = make_layout(sizes, acts);
    if (batch_size < 0) {
        throw py::value_error("batch_size: expected >= 1 (or 0 for full batch), got " +
                              std::to_string(batch_size));
    }
    if (log_every < 0) {
        throw py::value_error("log_every: expected >= 0, got " + std::to_string(log_every));
    }
    return dispatch(params_, "params", [&](auto tag) -> py::tuple {
        using T = decltype(tag);
        NetArgs<T> a(L, params_, X_, y_);
        FitOptions opt;
        opt.lr = lr;
        opt.epochs = epochs;
        opt.batch_size = batch_size;
        opt.shuffle = shuffle;
        opt.seed = seed;
        opt.log_every = callback.is_none() ? 0 : log_every;
        py::array_t<double> losses(checked_iterations(a.m, epochs, batch_size));

        // Iterations completed when a hook last ran Python code (which may raise).
        int64_t completed = 0;
        LogHook on_log = [&callback, &completed](int64_t it, double loss) {
            completed = it + 1;
            py::gil_scoped_acquire gil;
            py::object r = callback(it, loss);
            return !(r.is(py::bool_(false)));
        };
        PollHook poll = [&completed](int64_t done) {
            completed = done;
            py::gil_scoped_acquire gil;
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        };
        T* p = a.params.mutable_data();
        const T *x = a.X.data(), *t = a.y.data();
        double* lo = losses.mutable_data();
        FitResult r;
        try {
            py::gil_scoped_release nogil;
            r = fit(L, p, x, t, a.m, opt, lo, on_log, poll);
        } catch (py::error_already_set& e) {
            // Ctrl-C, seen by the poll or raised inside the callback, stops
            // between iterations: params hold the last completed one. Say which.
            if (e.matches(PyExc_KeyboardInterrupt)) {
                e.value().attr("plainnet_partial_fit") = py::make_tuple(losses, completed);
            }
            throw;
        }
        const char* status = r.nonfinite ? "nonfinite" : r.stopped ? "stopped" : "done";
        return py::make_tuple(losses, r.iterations, status);
    });
}

py::array epoch_permutation_py(int64_t m, uint64_t seed, uint64_t epoch) {
    if (m < 0) throw py::value_error("m: expected >= 0, got " + std::to_string(m));
    py::array_t<int64_t> perm(m);
    epoch_permutation(perm.mutable_data(), m, seed, epoch);
    return perm;
}

// ---------------------------------------------------------------- build and dispatch

py::dict build_info_py() {
    py::dict d;
    d["compiler"] = compiler_description();
#ifdef PLAINNET_BUILD_FLAGS
    d["flags"] = std::string(PLAINNET_BUILD_FLAGS);
#else
    d["flags"] = std::string("unknown");
#endif
    d["targets"] = compiled_variants();
    d["supported"] = supported_variants();
    d["dispatch"] = current_variant();
    d["num_threads"] = threads::count();
    return d;
}

void set_dispatch_py(const std::string& name) {
    try {
        set_variant(name);
    } catch (const std::invalid_argument& e) {
        throw py::value_error(std::string("name: ") + e.what());
    }
}

void set_num_threads_py(int64_t n) {
    if (n < 1 || n > 1024) {
        throw py::value_error("n: expected a thread count in [1, 1024], got " + std::to_string(n));
    }
    threads::set_count(int(n));
}

}  // namespace

PYBIND11_MODULE(_core, mod) {
    mod.doc() = "plainnet's native core: plain-loop C++ kernels for dense networks.";
    mod.attr("ACTIVATIONS") = py::tuple(py::cast(act_names()));
    mod.attr("LEAKY_SLOPE") = kLeakySlope;

    mod.def("dense_forward", &dense_forward_py, py::arg("inp"), py::arg("weight"), py::arg("bias"),
            "out = inp @ weight + bias; inp (B, C), weight (C, OC), bias (OC,).");
    mod.def("dense_backward", &dense_backward_py, py::arg("dinp").none(true), py::arg("dweight"),
            py::arg("dbias"), py::arg("dout"), py::arg("inp"), py::arg("weight"),
            "Accumulates dinp += dout @ weight.T (unless dinp is None), dweight += inp.T @ dout, "
            "dbias += dout.sum(0).");
    mod.def("activation_forward", &activation_forward_py, py::arg("z"), py::arg("name"),
            "a = f(z) elementwise for the named activation.");
    mod.def("activation_backward", &activation_backward_py, py::arg("dz"), py::arg("dout"),
            py::arg("z"), py::arg("a"), py::arg("name"),
            "Accumulates dz += dout * f'(z), where a = f(z).");
    mod.def("mse_forward", &mse_forward_py, py::arg("pred"), py::arg("target"),
            "Mean over all elements of (pred - target)**2.");
    mod.def("mse_backward", &mse_backward_py, py::arg("dpred"), py::arg("pred"), py::arg("target"),
            "Accumulates dpred += (pred - target) / B, the gradient of sum((pred-target)**2)/(2B).");
    mod.def("sgd_update", &sgd_update_py, py::arg("params"), py::arg("grads"), py::arg("lr"),
            "params -= lr * grads, in place.");

    mod.def("num_parameters", &num_parameters_py, py::arg("sizes"));
    mod.def("forward", &forward_py, py::arg("params"), py::arg("sizes"), py::arg("activations"),
            py::arg("X"));
    mod.def("forward_trace", &forward_trace_py, py::arg("params"), py::arg("sizes"),
            py::arg("activations"), py::arg("X"));
    mod.def("gradients", &gradients_py, py::arg("params"), py::arg("sizes"),
            py::arg("activations"), py::arg("X"), py::arg("y"));
    mod.def("step", &step_py, py::arg("params"), py::arg("sizes"), py::arg("activations"),
            py::arg("X"), py::arg("y"), py::arg("lr"));
    mod.def("fit", &fit_py, py::arg("params"), py::arg("sizes"), py::arg("activations"),
            py::arg("X"), py::arg("y"), py::arg("lr"), py::arg("epochs"), py::arg("batch_size"),
            py::arg("shuffle"), py::arg("seed"), py::arg("log_every"),
            py::arg("callback").none(true));
    mod.def("fit_iterations", &checked_iterations, py::arg("m"), py::arg("epochs"),
            py::arg("batch_size"));
    mod.def("epoch_permutation", &epoch_permutation_py, py::arg("m"), py::arg("seed"),
            py::arg("epoch"));

    mod.def("build_info", &build_info_py,
            "Compiler, flags, compiled kernel variants ('targets'), those this CPU supports, "
            "the variant in use ('dispatch') and the thread count.");
    mod.def("supported_dispatch", &supported_variants,
            "Kernel variants compiled in that this CPU can run, simplest first.");
    mod.def("set_dispatch", &set_dispatch_py, py::arg("name"),
            "Selects the kernel variant; ValueError if it is unknown or unsupported here.");
    mod.def("get_num_threads", &threads::count,
            "Threads a large matrix product may use (the calling thread included).");
    mod.def("set_num_threads", &set_num_threads_py, py::arg("n"),
            "Sets the thread count for large products; results do not depend on it.");
}
