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

Act act_arg(const std::string& name) {
    try {
        return act_from_name(name);
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
                    const py::handle& dout_, const py::handle& inp_, const py::handle& weight_) {
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
        kernels<T>().dense_backward(di, dw, db, g, i, w, B, C, OC);
    });
}

py::array activation_forward(const py::handle& z_, const std::string& name) {
    Act act = act_arg(name);
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
    Act act = act_arg(name);
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

// The forward and backward kernels of one loss of ops.h, by its struct.
template <class Op>
double loss_forward(const py::handle& pred_, const py::handle& target_) {
    return with_dtype(pred_, "pred", [&](auto tag) -> double {
        using T = decltype(tag);
        auto pred = as_input<T>(pred_, "pred");
        auto target = as_input<T>(target_, "target");
        check_ndim(pred, "pred", 2);
        check_shape(target, "target", {pred.shape(0), pred.shape(1)});
        if (pred.size() == 0) throw py::value_error("pred: expected a non-empty array");
        return Op::forward(pred.data(), target.data(), pred.shape(0), pred.shape(1));
    });
}

template <class Op>
void loss_backward(const py::handle& dpred_, const py::handle& pred_, const py::handle& target_) {
    with_dtype(dpred_, "dpred", [&](auto tag) {
        using T = decltype(tag);
        auto dpred = as_output<T>(dpred_, "dpred");
        auto pred = as_input<T>(pred_, "pred");
        auto target = as_input<T>(target_, "target");
        check_ndim(dpred, "dpred", 2);
        int64_t B = dpred.shape(0), K = dpred.shape(1);
        if (B < 1) throw py::value_error("dpred: expected at least 1 row, got 0");
        check_shape(pred, "pred", {B, K});
        check_shape(target, "target", {B, K});
        Op::backward(dpred.mutable_data(), pred.data(), target.data(), B, K);
    });
}

void sgd_update(const py::handle& params_, const py::handle& grads_, double lr) {
    with_dtype(params_, "params", [&](auto tag) {
        using T = decltype(tag);
        auto params = as_output<T>(params_, "params");
        auto grads = as_input<T>(grads_, "grads");
        check_shape(grads, "grads", shape_of(params));
        T* p = params.mutable_data();
        const T* g = grads.data();
        int64_t N = params.size();
        py::gil_scoped_release nogil;
        kernels<T>().sgd_update(p, g, T(lr), N);
    });
}

}  // namespace

void register_kernels(py::module_& m) {
    py::list acts, losses;
    for (const char* name : kActNames) acts.append(name);
    for (const char* name : kLossNames) losses.append(name);
    m.attr("ACTIVATIONS") = py::tuple(acts);
    m.attr("LOSSES") = py::tuple(losses);
    m.attr("LEAKY_SLOPE") = kLeakySlope;

    m.def("dense_forward", &dense_forward, py::arg("inp"), py::arg("weight"), py::arg("bias"),
          "out = inp @ weight + bias; inp (B, C), weight (C, OC), bias (OC,).");
    m.def("dense_backward", &dense_backward, py::arg("dinp").none(true), py::arg("dweight"),
          py::arg("dbias"), py::arg("dout"), py::arg("inp"), py::arg("weight"),
          "Accumulates dinp += dout @ weight.T (unless dinp is None), dweight += inp.T @ dout, "
          "dbias += dout.sum(0).");
    m.def("activation_forward", &activation_forward, py::arg("z"), py::arg("name"),
          "a = f(z) elementwise for the named activation.");
    m.def("activation_backward", &activation_backward, py::arg("dz"), py::arg("dout"),
          py::arg("z"), py::arg("a"), py::arg("name"),
          "Accumulates dz += dout * f'(z), where a = f(z).");
    m.def("mse_forward", &loss_forward<Mse>, py::arg("pred"), py::arg("target"),
          "Mean over all elements of (pred - target)**2.");
    m.def("mse_backward", &loss_backward<Mse>, py::arg("dpred"), py::arg("pred"),
          py::arg("target"),
          "Accumulates dpred += (pred - target) / B, the gradient of sum((pred-target)**2)/(2B).");
    m.def("sgd_update", &sgd_update, py::arg("params"), py::arg("grads"), py::arg("lr"),
          "params -= lr * grads, in place.");
}

}  // namespace bind
}  // namespace plainnet
