// plainnet._core: the pybind11 module. Each concern binds in its own file;
// arrays.h holds the conversions and checks they share.
#include "arrays.h"

PYBIND11_MODULE(_core, m) {
    m.doc() = "plainnet's native core: plain-loop C++ kernels for dense networks.";
    plainnet::bind::register_kernels(m);
    plainnet::bind::register_network(m);
    plainnet::bind::register_build(m);
}
