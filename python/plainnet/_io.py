"""plainnet's file format: an .npz archive that NumPy alone can read.

The archive holds ``W0, b0, W1, b1, ...`` and ``meta``, a JSON string with the
format name and version, the layer sizes, the activations, the loss and the
dtype, and the optimizer's kind, settings and step count once the network has
been trained; its state arrays are ``optimizer_state0, optimizer_state1, ...``.
Version 2 added the loss and the optimizer; a version 1 file is an MSE network
with no optimizer.
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Union

import numpy as np

FORMAT_VERSION = 2

PathLike = Union[str, "os.PathLike[str]"]

_ZIP_MAGIC = b"PK\x03\x04"  # every .npz is a zip archive
_NPY_MAGIC = b"\x93NUMPY"


def not_a_save(path: PathLike) -> str:
    """The start of every message that refuses a file as a plainnet save."""
    return f"load: '{Path(os.fspath(path))}' is not a plainnet save"


def write(path: PathLike, meta: dict[str, Any], weights: list[np.ndarray],
          biases: list[np.ndarray], extra: dict[str, np.ndarray]) -> Path:
    """Write the archive to a temporary name, then rename it: never half-written."""
    target = Path(os.fspath(path))
    meta = {"format": "plainnet", "format_version": FORMAT_VERSION, **meta}
    arrays: dict[str, Any] = {"meta": np.array(json.dumps(meta))}
    for i, (W, b) in enumerate(zip(weights, biases)):
        arrays[f"W{i}"] = W
        arrays[f"b{i}"] = b
    arrays.update(extra)
    return write_atomically(target, lambda f: np.savez(f, **arrays))


def write_atomically(target: Path, fill: Callable[[BinaryIO], Any]) -> Path:
    """fill(file) into a temporary name beside target, then rename it: never half-written."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def read(path: PathLike) -> tuple[dict[str, Any], list[np.ndarray], list[np.ndarray],
                                 dict[str, np.ndarray]]:
    """(meta, weights, biases, other arrays) of a plainnet save; ValueError naming the file otherwise."""
    source = Path(os.fspath(path))
    if not source.exists():
        raise FileNotFoundError(f"load: no such file: '{source}'")
    where = not_a_save(source)
    try:
        # Open the file here, so it is closed whatever np.load makes of it.
        with open(source, "rb") as f:
            magic = f.read(len(_NPY_MAGIC))
            f.seek(0)
            if magic.startswith(_NPY_MAGIC):
                raise ValueError(f"{where} (it is a single .npy array, not an .npz archive)")
            if not magic.startswith(_ZIP_MAGIC):
                raise ValueError(f"{where} (it is not an .npz archive)")
            with np.load(f, allow_pickle=False) as archive:
                if "meta" not in archive.files:
                    raise ValueError(f"{where} (no 'meta' entry; found {sorted(archive.files)})")
                meta = json.loads(str(archive["meta"]))
                if not isinstance(meta, dict) or meta.get("format") != "plainnet":
                    raise ValueError(f"{where} ('meta' does not describe a plainnet network)")
                version = meta.get("format_version")
                if not isinstance(version, int) or version < 1:
                    raise ValueError(f"{where} (format_version {version!r} is not valid)")
                if version > FORMAT_VERSION:
                    raise ValueError(f"load: '{source}' has format version {version}, written by "
                                     f"a newer plainnet; this one reads up to version "
                                     f"{FORMAT_VERSION}: upgrade plainnet to load it")
                n = len(meta.get("layers", [])) - 1
                weights = [archive[f"W{i}"] for i in range(n)]
                biases = [archive[f"b{i}"] for i in range(n)]
                extra = {k: archive[k] for k in archive.files if k.startswith("optimizer_state")}
    except ValueError as exc:
        if str(exc).startswith("load:"):
            raise
        if "pickle" in str(exc):  # an object array: NumPy's message suggests loading it unsafely
            raise ValueError(f"{where} (it holds pickled Python objects, which a plainnet save "
                             f"never does)") from None
        raise ValueError(f"{where} ({exc})") from None
    except (zipfile.BadZipFile, KeyError, EOFError, OSError, TypeError) as exc:
        raise ValueError(f"{where} ({type(exc).__name__}: {exc})") from None
    return meta, weights, biases, extra
