// How the module was built, which kernel variant runs, and how many threads.
#include <pybind11/stl.h>

#include <string>

#include "arrays.h"
#include "dispatch.h"
#include "threads.h"

namespace plainnet {
namespace bind {
namespace {

py::dict build_info() {
    py::dict d;
    d["compiler"] = compiler_description();
#ifdef PLAINNET_BUILD_FLAGS
    d["flags"] = std::string(PLAINNET_BUILD_FLAGS);
#else
    d["flags"] = std::string("unknown");
#endif
    d["variants"] = compiled_variants();
    d["supported"] = supported_variants();
    d["variant"] = current_variant();
    d["num_threads"] = threads::count();
    return d;
}

void select_variant(const std::string& name) {
    try {
        set_variant(name);
    } catch (const std::invalid_argument& e) {
        throw py::value_error(std::string("name: ") + e.what());
    }
}

// set_dispatch was this function's first name.
void set_dispatch(const std::string& name) {
    if (PyErr_WarnEx(PyExc_DeprecationWarning,
                     "plainnet._core.set_dispatch is deprecated; use set_variant", 1) != 0) {
        throw py::error_already_set();
    }
    select_variant(name);
}

void set_num_threads(int64_t n) {
    if (n < 1 || n > 1024) {
        throw py::value_error("n: expected a thread count in [1, 1024], got " + std::to_string(n));
    }
    threads::set_count(int(n));
}

}  // namespace

void register_build(py::module_& m) {
    m.def("build_info", &build_info,
          "Compiler, flags, the compiled kernel variants ('variants'), those this CPU supports "
          "('supported'), the variant in use ('variant') and the thread count.");
    m.def("supported_variants", &supported_variants,
          "Kernel variants compiled in that this CPU can run, simplest first.");
    m.def("set_variant", &select_variant, py::arg("name"),
          "Selects the kernel variant; ValueError if it is unknown or unsupported here.");
    m.def("set_dispatch", &set_dispatch, py::arg("name"),
          "Deprecated name of set_variant.");
    m.def("get_num_threads", &threads::count,
          "Threads a large matrix product may use (the calling thread included).");
    m.def(
        "pool_stats",
        [] {
            const threads::Stats s = threads::stats();
            py::dict d;
            d["pooled"] = s.pooled;
            d["alone"] = s.alone;
            d["gave_up"] = s.gave_up;
            d["waited_us"] = s.waited_us;
            return d;
        },
        "Counts since the process started: products and other parallel work run on the pool "
        "('pooled'), run alone because the pool had given up on a starved worker or the CPUs "
        "were all taken by other threads ('alone'), "
        "the give-ups ('gave_up'), and how long callers waited in all for workers' last items "
        "after finishing their own ('waited_us', microseconds).");
    m.def("set_num_threads", &set_num_threads, py::arg("n"),
          "Sets the thread count for large products; results do not depend on it.");
}

}  // namespace bind
}  // namespace plainnet
