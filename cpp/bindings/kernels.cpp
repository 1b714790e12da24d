// The kernels one by one, for the tests that hold each variant against its
// NumPy twin: convert, check shapes, release the GIL, call.
#include <string>
#include <vector>

#include "arrays.h"
#include "dispatch.h"
#include "network.h"

namespace plainnet {
namespace bind {
namespace {

// The argument `name`, parsed by act_from_name or loss_from_name.
template <typename E>
E name_arg(E (*parse)(const std::string&), const std::string& name) {
    try {
        return parse(name);
    } catch (const std::invalid_argument& e) {
        throw py::value_error(std::string("name: ") + e.what());
    }
}

// A dense layer's input inp (B, C) and weight (C, OC), converted and checked.
template <typename T>
struct Dense {
    In<T> inp, weight;
    int64_t B, C, OC;
    Dense(const py::handle& inp_, const py::handle& weight_)
        : inp(as_input<T>(inp_, "inp")), weight(as_input<T>(weight_, "weight")) {
        check_ndim(inp, "inp", 2);
        check_ndim(weight, "weight", 2);
        B = inp.shape(0);
        C = inp.shape(1);
        OC = weight.shape(1);
        check_shape(weight, "weight", {C, OC});
    }
};

py::array dense_forward(const py::handle& inp_, const py::handle& weight_,
                        const py::handle& bias_) {
    return with_dtype(weight_, "weight", [&](auto tag) -> py::array {
        using T = decltype(tag);
        Dense<T> d(inp_, weight_);
        auto bias = as_input<T>(bias_, "bias");
        check_shape(bias, "bias", {d.OC});
        py::array_t<T> out({d.B, d.OC});
        T* o = out.mutable_data();
        const T *i = d.inp.data(), *w = d.weight.data(), *b = bias.data();
        {
            py::gil_scoped_release nogil;
            kernels<T>().dense_forward(o, i, w, b, d.B, d.C, d.OC);
        }
        return out;
    });
}

void dense_backward(const py::handle& dinp_, const py::handle& dweight_, const py::handle& dbias_,
                    const py::handle& dout_, const py::handle& inp_, const py::handle& weight_,
                    bool accumulate) {
    with_dtype(dweight_, "dweight", [&](auto tag) {
        using T = decltype(tag);
        auto dweight = as_output<T>(dweight_, "dweight");
        auto dbias = as_output<T>(dbias_, "dbias");
        auto dout = as_input<T>(dout_, "dout");
        Dense<T> d(inp_, weight_);
        const int64_t B = d.B, C = d.C, OC = d.OC;
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
        const T *g = dout.data(), *i = d.inp.data(), *w = d.weight.data();
        py::gil_scoped_release nogil;
        kernels<T>().dense_backward(di, dw, db, g, i, w, B, C, OC, accumulate);
    });
}

py::array activation_forward(const py::handle& z_, const std::string& name) {
    Act act = name_arg(act_from_name, name);
    return with_dtype(z_, "z", [&](auto tag) -> py::array {
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

void activation_backward(const py::handle& dz_, const py::handle& dout_, const py::handle& z_,
                         const py::handle& a_, const std::string& name) {
    Act act = name_arg(act_from_name, name);
    with_dtype(dz_, "dz", [&](auto tag) {
        using T = decltype(tag);
        auto dz = as_output<T>(dz_, "dz");
        auto dout = as_input<T>(dout_, "dout");
        auto z = as_input<T>(z_, "z");
        auto a = as_input<T>(a_, "a");
        std::vector<int64_t> dims = shape_of(dz);
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

// The output layer's z (B, K), a (B, K) and targets y (B, K) of a loss kernel.
template <typename T>
struct LossInputs {
    In<T> z, a, y;
    int64_t B, K;
    LossInputs(const py::handle& z_, const py::handle& a_, const py::handle& y_)
        : z(as_input<T>(z_, "z")), a(as_input<T>(a_, "a")), y(as_input<T>(y_, "y")) {
        check_ndim(z, "z", 2);
        B = z.shape(0);
        K = z.shape(1);
        if (B < 1 || K < 1) throw py::value_error("z: expected a non-empty array");
        check_shape(a, "a", {B, K});
        check_shape(y, "y", {B, K});
    }
};

double loss_forward(const py::handle& z_, const py::handle& a_, const py::handle& y_,
                    const std::string& name) {
    Loss loss = name_arg(loss_from_name, name);
    return with_dtype(z_, "z", [&](auto tag) -> double {
        using T = decltype(tag);
        LossInputs<T> in(z_, a_, y_);
        return kernels<T>().loss_forward(in.z.data(), in.a.data(), in.y.data(), in.B, in.K, loss);
    });
}

void loss_backward(const py::handle& d_, const py::handle& z_, const py::handle& a_,
                   const py::handle& y_, const std::string& name) {
    Loss loss = name_arg(loss_from_name, name);
    with_dtype(d_, "d", [&](auto tag) {
        using T = decltype(tag);
        auto d = as_output<T>(d_, "d");
        LossInputs<T> in(z_, a_, y_);
        check_shape(d, "d", {in.B, in.K});
        visit(loss, [&](auto op) {
            decltype(op)::backward(d.mutable_data(), in.z.data(), in.a.data(), in.y.data(), in.B,
                                   in.K);
        });
    });
}

py::array softmax_forward(const py::handle& z_) {
    return with_dtype(z_, "z", [&](auto tag) -> py::array {
        using T = decltype(tag);
        auto z = as_input<T>(z_, "z");
        check_ndim(z, "z", 2);
        int64_t B = z.shape(0), K = z.shape(1);
        if (K < 1) throw py::value_error("z: expected at least 1 column, got 0");
        py::array_t<T> out({B, K});
        kernels<T>().softmax(out.mutable_data(), z.data(), B, K);
        return out;
    });
}

void optimizer_update(const py::handle& params_, const py::handle& grads_, const py::list& state_,
                      const py::dict& optimizer, int64_t t) {
    auto [kind, settings] = optimizer_arg(optimizer);
    if (t < 1) throw py::value_error("t: expected >= 1 (the first update is 1), got " +
                                     std::to_string(t));
    with_dtype(params_, "params", [&](auto tag) {
        using T = decltype(tag);
        auto params = as_output<T>(params_, "params");
        auto grads = as_input<T>(grads_, "grads");
        check_shape(grads, "grads", shape_of(params));
        StateArrays<T> state(state_, optimizer_slots(kind), shape_of(params));
        T* p = params.mutable_data();
        const T* g = grads.data();
        int64_t N = params.size();
        py::gil_scoped_release nogil;
        // The kernel writes a new iterate beside the old one: keep the old one
        // here and write the new one over the arrays given.
        std::vector<T> before(p, p + N);
        std::vector<std::vector<T>> state_before;
        std::vector<const T*> s0;
        for (T* s : state.data) state_before.emplace_back(s, s + N);
        for (const auto& s : state_before) s0.push_back(s.data());
        kernels<T>().optimizer_update(p, state.data.data(), before.data(), s0.data(), g, N, kind,
                                      settings, t);
    });
}

}  // namespace

void register_kernels(py::module_& m) {
    py::list acts, losses;
    for (const char* name : kActNames) acts.append(name);
    for (const char* name : kLossNames) losses.append(name);
    m.attr("ACTIVATIONS") = py::tuple(acts);
    m.attr("OUTPUT_ACTIVATIONS") = py::make_tuple(kSoftmaxName);
    m.attr("LOSSES") = py::tuple(losses);
    m.attr("LEAKY_SLOPE") = kLeakySlope;

    m.def("dense_forward", &dense_forward, py::arg("inp"), py::arg("weight"), py::arg("bias"),
          "out = inp @ weight + bias; inp (B, C), weight (C, OC), bias (OC,).");
    m.def("dense_backward", &dense_backward, py::arg("dinp").none(true), py::arg("dweight"),
          py::arg("dbias"), py::arg("dout"), py::arg("inp"), py::arg("weight"),
          py::arg("accumulate") = true,
          "Accumulates dinp += dout @ weight.T (unless dinp is None), dweight += inp.T @ dout, "
          "dbias += dout.sum(0); with accumulate=False, overwrites them (= instead of +=).");
    m.def("activation_forward", &activation_forward, py::arg("z"), py::arg("name"),
          "a = f(z) elementwise for the named activation.");
    m.def("activation_backward", &activation_backward, py::arg("dz"), py::arg("dout"),
          py::arg("z"), py::arg("a"), py::arg("name"),
          "Accumulates dz += dout * f'(z), where a = f(z).");
    m.def("loss_forward", &loss_forward, py::arg("z"), py::arg("a"), py::arg("y"),
          py::arg("name"), "The named loss as reported, from the output layer's z and a = f(z).");
    m.def("loss_backward", &loss_backward, py::arg("d"), py::arg("z"), py::arg("a"), py::arg("y"),
          py::arg("name"),
          "Accumulates into d the gradient of the loss's objective E: with respect to a for mse, "
          "to z for the cross-entropies.");
    m.def("softmax_forward", &softmax_forward, py::arg("z"), "The softmax of each row of z.");
    m.def("optimizer_update", &optimizer_update, py::arg("params"), py::arg("grads"),
          py::arg("state"), py::arg("optimizer"), py::arg("t"),
          "The t-th update (t >= 1) of an optimizer {'name': ..., settings}, in place on params "
          "and its state arrays.");
}

}  // namespace bind
}  // namespace plainnet
