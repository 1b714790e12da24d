// The network functions: a network is passed as (params, sizes, activations),
// the flat parameter array and its layout. Each function converts and checks
// its arrays, releases the GIL and calls network.h, where what a step or a
// fit does is decided.
#include <pybind11/stl.h>

#include <string>
#include <type_traits>
#include <vector>

#include "arrays.h"
#include "network.h"

namespace plainnet {
namespace bind {
namespace {

using Sizes = std::vector<int64_t>;
using Names = std::vector<std::string>;

// std::invalid_argument from the core becomes ValueError (pybind11's mapping).
Layout make_layout(const Sizes& sizes, const Names& acts) {
    std::vector<Act> codes;
    for (const auto& n : acts) {
        try {
            codes.push_back(act_from_name(n));
        } catch (const std::invalid_argument& e) {
            throw py::value_error(std::string("activations: ") + e.what());
        }
    }
    return Layout(sizes, codes);
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
                  const py::handle& X_, const py::handle* y_, F&& f) {
    Layout L = make_layout(sizes, acts);
    return with_dtype(params_, "params", [&](auto tag) {
        using T = decltype(tag);
        if (y_ == nullptr) return f(L, NetArrays<T>(L, params_, X_));
        return f(L, NetArrays<T>(L, params_, X_, *y_));
    });
}

// The element type of a NetArrays argument.
template <class A>
using ElementOf = typename std::decay_t<A>::type;

int64_t num_parameters(const Sizes& sizes) {
    return make_layout(sizes, Names(sizes.empty() ? 0 : sizes.size() - 1, "linear")).num_params;
}

py::array forward(const py::handle& params_, const Sizes& sizes, const Names& acts,
                  const py::handle& X_) {
    return with_network(params_, sizes, acts, X_, nullptr, [](const Layout& L, auto a) -> py::array {
        using T = ElementOf<decltype(a)>;
        py::array_t<T> out({a.m, L.outputs()});
        T* o = out.mutable_data();
        {
            py::gil_scoped_release nogil;
            predict(L, a.params.data(), a.X.data(), a.m, o);
        }
        return out;
    });
}

py::list forward_trace(const py::handle& params_, const Sizes& sizes, const Names& acts,
                       const py::handle& X_) {
    return with_network(params_, sizes, acts, X_, nullptr, [](const Layout& L, auto a) -> py::list {
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
                    const py::handle& X_, const py::handle& y_) {
    return with_network(params_, sizes, acts, X_, &y_, [](const Layout& L, auto a) -> py::tuple {
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

py::tuple step(const py::handle& params_, const Sizes& sizes, const Names& acts,
               const py::handle& X_, const py::handle& y_, double lr) {
    return with_network(params_, sizes, acts, X_, &y_, [lr](const Layout& L, auto a) -> py::tuple {
        StepResult r;
        {
            py::gil_scoped_release nogil;
            r = plainnet::step(L, a.params.mutable_data(), a.X.data(), a.y.data(), a.m, lr);
        }
        return py::make_tuple(r.loss, r.updated);
    });
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
              const py::handle& X_, const py::handle& y_, double lr, int64_t epochs,
              int64_t batch_size, bool shuffle, uint64_t seed, int64_t log_every,
              const py::object& callback) {
    if (batch_size < 0) throw py::value_error("batch_size: expected >= 0");
    if (log_every < 0) throw py::value_error("log_every: expected >= 0");
    return with_network(params_, sizes, acts, X_, &y_, [&](const Layout& L, auto a) -> py::tuple {
        using T = ElementOf<decltype(a)>;
        FitOptions opt;
        opt.lr = lr;
        opt.epochs = epochs;
        opt.batch_size = batch_size;
        opt.shuffle = shuffle;
        opt.seed = seed;
        opt.log_every = callback.is_none() ? 0 : log_every;
        py::array_t<double> losses(iterations(a.m, epochs, batch_size));

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
            r = plainnet::fit(L, p, x, t, a.m, opt, lo, on_log, poll);
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

py::array permutation(int64_t m, uint64_t seed, uint64_t epoch) {
    if (m < 0) throw py::value_error("m: expected >= 0, got " + std::to_string(m));
    py::array_t<int64_t> perm(m);
    epoch_permutation(perm.mutable_data(), m, seed, epoch);
    return perm;
}

}  // namespace

void register_network(py::module_& m) {
    m.attr("MAX_ELEMENTS") = kMaxElements;
    m.def("num_parameters", &num_parameters, py::arg("sizes"));
    m.def("forward", &forward, py::arg("params"), py::arg("sizes"), py::arg("activations"),
          py::arg("X"), "Predictions (m, outputs); allocates no training workspace.");
    m.def("forward_trace", &forward_trace, py::arg("params"), py::arg("sizes"),
          py::arg("activations"), py::arg("X"), "[(z_l, a_l) for each layer].");
    m.def("gradients", &gradients, py::arg("params"), py::arg("sizes"), py::arg("activations"),
          py::arg("X"), py::arg("y"), "(loss, flat gradient of E).");
    m.def("step", &step, py::arg("params"), py::arg("sizes"), py::arg("activations"),
          py::arg("X"), py::arg("y"), py::arg("lr"),
          "One update in place; (loss before it, whether params changed).");
    m.def("fit", &fit, py::arg("params"), py::arg("sizes"), py::arg("activations"), py::arg("X"),
          py::arg("y"), py::arg("lr"), py::arg("epochs"), py::arg("batch_size"),
          py::arg("shuffle"), py::arg("seed"), py::arg("log_every"),
          py::arg("callback").none(true), "The fused training loop; (losses, iterations, status).");
    m.def("fit_iterations", &iterations, py::arg("m"), py::arg("epochs"), py::arg("batch_size"));
    m.def("epoch_permutation", &permutation, py::arg("m"), py::arg("seed"), py::arg("epoch"));
}

}  // namespace bind
}  // namespace plainnet
