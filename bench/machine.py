"""What the numbers were measured on: CPU, libraries, thread counts, plainnet's build."""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np

import plainnet as pn

NA = "n/a"


def _cpu() -> dict[str, Any]:
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:  # the first processor's fields are enough
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    model = fields.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in fields and "model" in fields:  # a generic name ("AMD EPYC") alone is vague
        model += f" (family {fields['cpu family']}, model {fields['model']})"
    flags = set(fields.get("flags", "").split())
    simd = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni") if f in flags]
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"model": model, "cores": os.cpu_count(), "usable_cores": affinity,
            "simd": simd or NA, "hypervisor": "hypervisor" in flags}


def numpy_blas() -> dict[str, Any]:
    """NumPy's own BLAS: name, version, threads and kernel (threadpoolctl's architecture)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        blas: dict[str, Any] = {"source": "numpy.show_config (install threadpoolctl for threads)"}
        try:
            cfg = np.show_config(mode="dicts")
            dep = cfg.get("Build Dependencies", {}).get("blas", {})
            blas.update(name=dep.get("name", NA), version=dep.get("version", NA),
                        threads=NA, architecture=NA)
        except TypeError:  # NumPy < 1.25: no mode argument
            blas.update(name=NA, version=NA, threads=NA, architecture=NA)
        return blas
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    # NumPy's own BLAS is the one loaded from numpy's directory (torch may bring another).
    site = os.path.dirname(os.path.dirname(np.__file__))
    homes = (os.path.join(site, "numpy"), os.path.join(site, "numpy.libs"))
    mine = [p for p in pools if p.get("filepath", "").startswith(homes)]
    p = (mine or pools or [{}])[0]
    return {"source": "threadpoolctl", "name": p.get("internal_api", NA),
            "version": p.get("version", NA), "threads": p.get("num_threads", NA),
            "architecture": p.get("architecture", NA)}


def _torch() -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        return {"version": NA, "threads": NA}
    blas = NA
    for line in torch.__config__.show().splitlines():
        if "BLAS_INFO=" in line:
            blas = line.split("BLAS_INFO=", 1)[1].split(",")[0]
    return {"version": torch.__version__, "threads": torch.get_num_threads(), "blas": blas}


def _sklearn() -> str:
    try:
        import sklearn
    except ImportError:
        return NA
    return sklearn.__version__


def plainnet_build() -> dict[str, Any]:
    """plainnet's build_info() (compiler, flags, compiled kernel variants, the variant in use, threads) or n/a."""
    try:
        from plainnet import _core
    except ImportError:
        return {"compiler": NA, "flags": NA, "variants": NA, "variant": NA, "num_threads": NA}
    build_info = getattr(_core, "build_info", None)
    info: dict[str, Any] = dict(build_info()) if build_info is not None else {}
    for key in ("compiler", "flags", "variants", "variant", "num_threads"):
        info.setdefault(key, NA)
    return info


def collect() -> dict[str, Any]:
    """Everything about this machine and these libraries that bears on the timings."""
    return {
        "cpu": _cpu(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": numpy_blas(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE", "unset"),
        "torch": _torch(),
        "sklearn": _sklearn(),
        "plainnet": pn.__version__,
        "plainnet_build": plainnet_build(),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else NA,
    }


def _join(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def describe(info: dict[str, Any]) -> list[str]:
    """The machine as a few human-readable lines (the first alone is the "machine line")."""
    cpu, blas, torch, build = info["cpu"], info["numpy_blas"], info["torch"], info["plainnet_build"]
    return [
        f"{cpu['model']}, {cpu['cores']} cores ({_join(cpu['simd'])}); {info['os']}",
        f"Python {info['python']}; NumPy {info['numpy']} with {blas['name']} {blas['version']} "
        f"({blas['architecture']}), {blas['threads']} threads; "
        f"OPENBLAS_CORETYPE={info['OPENBLAS_CORETYPE']}, "
        f"OPENBLAS_L2_SIZE={info.get('OPENBLAS_L2_SIZE', 'unset')}",
        f"torch {torch['version']} ({torch.get('blas', NA)}), {torch['threads']} threads by default; "
        f"scikit-learn {info['sklearn']}",
        f"plainnet {info['plainnet']}: compiler {build['compiler']}; flags {build['flags']}; "
        f"variants {_join(build['variants'])}; variant {build['variant']}; "
        f"threads {build['num_threads']}",
    ]
