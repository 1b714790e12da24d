// Array helpers shared by the binding files: conversion to the working
// dtype, the dtype switch and shape checks. Each raises TypeError or
// ValueError naming the argument, so that a direct call into plainnet._core
// with bad arrays fails cleanly instead of crashing. (The messages users see
// come from the Python layer, which checks everything before it calls here.)
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../ops.h"

namespace plainnet {
namespace bind {

namespace py = pybind11;

// A read-only input, converted to C-contiguous T.
template <typename T>
using In = py::array_t<T, py::array::c_style | py::array::forcecast>;

inline std::string shape_str(const std::vector<int64_t>& dims) {
    std::ostringstream s;
    s << "(";
    for (size_t i = 0; i < dims.size(); i++) s << (i ? ", " : "") << dims[i];
    s << (dims.size() == 1 ? ",)" : ")");
    return s.str();
}

inline std::vector<int64_t> shape_of(const py::array& a) {
    return std::vector<int64_t>(a.shape(), a.shape() + a.ndim());
}

inline std::string dtype_str(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

inline py::array as_array(const py::handle& obj, const char* name) {
    if (!py::isinstance<py::array>(obj)) {
        throw py::type_error(std::string(name) + ": expected a NumPy array, got " +
                             py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
    }
    return py::reinterpret_borrow<py::array>(obj);
}

// Converts a read-only input to a C-contiguous array of T. Only real numbers
// (bool, int, uint, float) are accepted.
template <typename T>
In<T> as_input(const py::handle& obj, const char* name) {
    py::array a = as_array(obj, name);
    char kind = a.dtype().kind();
    if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b') {
        throw py::type_error(std::string(name) + ": expected an array of real numbers, got dtype " +
                             dtype_str(a));
    }
    return In<T>::ensure(a);
}

// An array the core writes into: exactly dtype T, C-contiguous, writeable.
template <typename T>
py::array_t<T> as_output(const py::handle& obj, const char* name) {
    py::array a = as_array(obj, name);
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

inline void check_shape(const py::array& a, const char* name, const std::vector<int64_t>& dims) {
    if (shape_of(a) != dims) {
        throw py::value_error(std::string(name) + ": expected shape " + shape_str(dims) +
                              ", got " + shape_str(shape_of(a)));
    }
}

inline void check_ndim(const py::array& a, const char* name, py::ssize_t ndim) {
    if (a.ndim() != ndim) {
        throw py::value_error(std::string(name) + ": expected a " + std::to_string(ndim) +
                              "-D array, got shape " + shape_str(shape_of(a)));
    }
}

// The dtype switch: calls f(T{}) with T = double or float, the dtype of
// `obj` (the array that decides the working precision).
template <typename F>
auto with_dtype(const py::handle& obj, const char* name, F&& f) {
    py::array a = as_array(obj, name);
    if (py::array_t<double>::check_(a)) return f(double{});
    if (py::array_t<float>::check_(a)) return f(float{});
    throw py::type_error(std::string(name) + ": expected dtype float64 or float32, got " +
                         dtype_str(a));
}

// An optimizer's state: `slots` arrays, each of shape dims and dtype T,
// written in place.
template <typename T>
struct StateArrays {
    std::vector<py::array_t<T>> arrays;
    std::vector<T*> data;
    StateArrays(const py::list& state, int slots, const std::vector<int64_t>& dims) {
        if (int64_t(py::len(state)) != slots) {
            throw py::value_error("state: expected " + std::to_string(slots) + " arrays, got " +
                                  std::to_string(py::len(state)));
        }
        for (auto s : state) {
            arrays.push_back(as_output<T>(s, "state"));
            check_shape(arrays.back(), "state", dims);
            data.push_back(arrays.back().mutable_data());
        }
    }
};

// {"name": "adam", "lr": 1e-3, ...}: an optimizer of ops.h's table and its
// settings (unknown names and settings are a ValueError).
std::pair<Optim, Optimizer> optimizer_arg(const py::dict& d);

// Registration functions, one per binding file.
void register_kernels(py::module_& m);
void register_network(py::module_& m);
void register_build(py::module_& m);

}  // namespace bind
}  // namespace plainnet
