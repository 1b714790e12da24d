"""plainnet's file format: an .npz archive that NumPy alone can read.

The archive holds ``W0, b0, W1, b1, ...`` and ``meta``, a JSON string with the
format name and version, the layer sizes, the activations, the loss and the
dtype, and the optimizer's kind, settings and step count once the network has
been trained; its state arrays are ``optimizer_state0, optimizer_state1, ...``.
Version 2 added the loss and the optimizer; a version 1 file is an MSE network
with no optimizer.
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import struct
import threading
import zipfile
from pathlib import Path
from typing import IO, Any, BinaryIO, Callable, Optional, Union

import numpy as np

from . import _meta, optim
from ._layout import num_parameters, unpack

FORMAT_VERSION = _meta.FORMAT_VERSION

PathLike = Union[str, "os.PathLike[str]"]

_ZIP_MAGIC = b"PK\x03\x04"  # every .npz is a zip archive
_NPY_MAGIC = b"\x93NUMPY"


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


# Limits of a save's structure, checked before anything is read: a network
# of more layers, or a 'meta' longer than this, is not a plainnet save.
MAX_LAYERS = _meta.MAX_LAYERS
_MAX_META_CHARS = 1 << 20
# Members a save may hold (W_l, b_l, meta, optimizer state, and as many again
# of whatever else: they are never read) and the size of the zip directory
# listing them.
_MAX_MEMBERS = 4 * MAX_LAYERS + 16
_MAX_DIRECTORY_BYTES = 256 * _MAX_MEMBERS
_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
# Bytes read from a member at a time: the largest temporary a read makes.
_CHUNK = 1 << 20


class Source:
    """An open save: a binary file object and the name messages give it."""

    def __init__(self, source: Any) -> None:
        self.owned: Optional[BinaryIO] = None
        self.name = self.describe(source)
        if isinstance(source, (str, os.PathLike)):
            path = Path(os.fspath(source))
            self.file = self.owned = _open_regular(path, self.name)
        elif hasattr(source, "read") and hasattr(source, "seek"):
            self.file = source
            _check_file_object(source, self.name)
        else:
            raise TypeError(f"path: expected a file path (str or os.PathLike) or a binary file "
                            f"object (open(path, 'rb'), io.BytesIO), got "
                            f"{type(source).__name__} {source!r}")

    @staticmethod
    def describe(source: Any) -> str:
        """How messages name a source: its path in quotes, or the file object."""
        if isinstance(source, (str, os.PathLike)):
            return f"'{Path(os.fspath(source))}'"
        return _file_object_name(source)

    @property
    def refusal(self) -> str:
        return f"load: {self.name} is not a plainnet save"

    def close(self) -> None:
        if self.owned is not None:
            self.owned.close()


def _open_regular(path: Path, name: str) -> BinaryIO:
    """The file at path, opened without blocking; ValueError unless it is a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no such file: '{path}'") from None
    except IsADirectoryError:
        raise ValueError(f"load: {name} is not a plainnet save (it is a directory, not a "
                         f"file)") from None
    except OSError as exc:
        raise ValueError(f"load: {name} is not a plainnet save (it cannot be opened: "
                         f"{exc.strerror})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a directory" if stat.S_ISDIR(mode) else
                    "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else
                    "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
                    "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
            raise ValueError(f"load: {name} is not a plainnet save (it is {kind}; a save is a "
                             f"regular file)")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _file_object_name(f: Any) -> str:
    name = getattr(f, "name", None)
    return f"'{name}'" if isinstance(name, (str, os.PathLike)) else f"the {type(f).__name__} given"


def _check_file_object(f: Any, name: str) -> None:
    mode = getattr(f, "mode", "rb")
    if isinstance(f, io.TextIOBase) or (isinstance(mode, str) and "b" not in mode):
        raise TypeError(f"path: expected a binary file object, got the text file {name}; open "
                        f"it with open(path, 'rb')")
    seekable = getattr(f, "seekable", None)
    if callable(seekable) and not seekable():
        raise ValueError(f"load: {name} is not a plainnet save (it cannot seek, and a save is "
                         f"read out of order)")
    fileno = getattr(f, "fileno", None)
    if callable(fileno):
        try:
            mode_bits = os.fstat(fileno()).st_mode
        except (OSError, ValueError, io.UnsupportedOperation):
            return
        if not stat.S_ISREG(mode_bits):
            raise ValueError(f"load: {name} is not a plainnet save (it is not a regular file)")


def _directory_size(f: BinaryIO, base: int) -> tuple[int, int]:
    """(members, bytes) of the zip directory, from its end records; ValueError if absent."""
    end = f.seek(0, os.SEEK_END)
    tail_len = min(end - base, _EOCD.size + 0xFFFF + _EOCD64_LOCATOR.size)
    f.seek(end - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        raise ValueError("it is not a complete .npz archive: its zip directory is missing")
    _, _, _, _, members, size, _, _ = _EOCD.unpack_from(tail, at)
    loc = at - _EOCD64_LOCATOR.size
    if loc >= 0 and tail[loc:loc + 4] == b"PK\x06\x07":
        _, _, offset, _ = _EOCD64_LOCATOR.unpack_from(tail, loc)
        if base + offset + _EOCD64.size > end:
            raise ValueError("its zip64 directory record lies past the end of the file")
        f.seek(base + offset)
        record = f.read(_EOCD64.size)
        if len(record) != _EOCD64.size or record[:4] != b"PK\x06\x06":
            raise ValueError("its zip64 directory record is damaged")
        fields = _EOCD64.unpack(record)
        members, size = fields[6], fields[7]
    return members, size


def _open_member(archive: zipfile.ZipFile, member: str, what: str,
                 limit: int) -> tuple[zipfile.ZipInfo, IO[bytes]]:
    """An archive member's stream, after checking what its directory entry says."""
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise ValueError(f"no '{what}' entry; found {_names(archive)}") from None
    if info.flag_bits & 0x1:
        raise ValueError(f"'{what}' is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ValueError(f"'{what}' is compressed with method {info.compress_type}; a save is "
                         f"stored or deflated")
    if info.file_size > limit:
        raise ValueError(f"'{what}' holds {info.file_size} bytes, more than the {limit} it can "
                         f"hold for this network")
    # deflate never grows data by more than a few bytes per 16 KiB block
    if info.compress_size > info.file_size + info.file_size // 1000 + 1024:
        raise ValueError(f"'{what}' takes {info.compress_size} bytes to hold {info.file_size}")
    return info, archive.open(info)


def _names(archive: zipfile.ZipFile) -> list[str]:
    names = sorted(n[:-4] if n.endswith(".npy") else n for n in archive.namelist())
    return names if len(names) <= 12 else names[:12] + [f"and {len(names) - 12} more"]


def _read_header(stream: IO[bytes], what: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, Fortran order, dtype) from the .npy header at the start of a member,
    read with NumPy's own bounded parser; ValueError for anything else, and for
    pickled objects."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"format version {version}")
    except ValueError as exc:
        raise ValueError(f"'{what}' is not a readable .npy array ({exc})") from None
    if dtype.hasobject:
        raise ValueError(f"'{what}' holds pickled Python objects, which a plainnet save never "
                         f"does")
    return tuple(shape), bool(fortran), dtype


def _read_array(archive: zipfile.ZipFile, what: str, dtype: np.dtype,
                shape: tuple[int, ...], into: Optional[np.ndarray] = None) -> np.ndarray:
    """Member what.npy, which must hold an array of this shape and dtype (either byte order).

    The header is read and checked first; then exactly the bytes it calls for,
    in chunks, into the array (``into``, a C-contiguous array of that shape and
    dtype, when given, read straight into when the bytes are in its layout):
    nothing larger is allocated.
    """
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    header_limit = 10_000 + 16  # NumPy's own limit on a header's length
    info, stream = _open_member(archive, what + ".npy", what, nbytes + header_limit)
    with stream:
        got_shape, fortran, got = _read_header(stream, what)
        if got.kind != dtype.kind or got.itemsize != dtype.itemsize or got.fields is not None \
                or got.subdtype is not None:
            raise ValueError(f"'{what}' holds {got}, expected {dtype.name}")
        if got_shape != shape:
            raise ValueError(f"'{what}' has shape {got_shape}, expected {shape}")
        if info.file_size != stream.tell() + nbytes:
            raise ValueError(f"'{what}' holds {info.file_size - stream.tell()} bytes of data, "
                             f"its header calls for {nbytes}")
        direct = into is not None and got == into.dtype and not fortran
        out = into.reshape(-1) if into is not None and direct else np.empty(count, dtype=got)
        view = out.view(np.uint8)
        at = 0
        while at < nbytes:
            chunk = stream.read(min(_CHUNK, nbytes - at))
            if not chunk:
                raise ValueError(f"'{what}' ends after {at} of its {nbytes} bytes")
            view[at:at + len(chunk)] = np.frombuffer(chunk, np.uint8)
            at += len(chunk)
        if stream.read(1):  # also where zipfile checks the member's CRC
            raise ValueError(f"'{what}' holds more than its header calls for")
    if fortran:
        array = out.reshape(shape, order="F")
    else:
        out.shape = shape  # in place: the array keeps owning its data (no copy later)
        array = out
    if into is not None:
        if not direct:
            into[...] = array  # another byte order, or Fortran order
        return into
    target = dtype.newbyteorder("=")
    if array.dtype == target and not fortran:
        return array
    return np.asarray(array, dtype=target, order="C")


def _read_meta(archive: zipfile.ZipFile) -> Any:
    """The JSON text of 'meta' (a 0-d unicode array), parsed, and nothing else read."""
    _, stream = _open_member(archive, "meta.npy", "meta", 4 * _MAX_META_CHARS + 10_016)
    with stream:
        shape, _, dtype = _read_header(stream, "meta")
    if dtype.kind != "U" or shape != ():
        raise ValueError(f"'meta' is {dtype} of shape {shape}, expected one string")
    if dtype.itemsize > 4 * _MAX_META_CHARS:
        raise ValueError(f"'meta' is a string of {dtype.itemsize // 4} characters, more than "
                         f"{_MAX_META_CHARS}")
    try:
        text = str(_read_array(archive, "meta", dtype, ())[()])
    except (UnicodeError, ValueError) as exc:
        raise ValueError(f"'meta' cannot be read as text ({exc})") from None

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number JSON allows")

    try:
        return json.loads(text, parse_constant=constant)
    except RecursionError:
        raise ValueError("'meta' is nested too deeply to be a plainnet description") from None
    except ValueError as exc:
        raise ValueError(f"'meta' is not valid JSON ({exc})") from None


def _allocate(count: int, dtype: np.dtype, name: str) -> np.ndarray:
    try:
        return np.empty(count, dtype=dtype)
    except MemoryError:
        raise MemoryError(f"load: the network {name} describes has {count} parameters of "
                          f"{dtype.name}, {count * dtype.itemsize} bytes, more than could be "
                          f"allocated") from None


def read(source: Any) -> tuple[_meta.Meta, np.ndarray, list[np.ndarray]]:
    """(meta, parameters, optimizer state) of a plainnet save, each checked.

    ``source`` is a path or a binary file object. ``meta`` is read and checked
    against its schema first (plainnet._meta); then each array that meta calls
    for, its header before its data. Anything else in the archive is never
    read. Every refusal is a ValueError that names the file and what is wrong.
    """
    src = Source(source)
    try:
        try:
            f = src.file
            base = f.tell()
            magic = f.read(len(_NPY_MAGIC))
            if magic.startswith(_NPY_MAGIC):
                raise ValueError("it is a single .npy array, not an .npz archive")
            if not magic.startswith(_ZIP_MAGIC):
                raise ValueError("it is not an .npz archive")
            members, size = _directory_size(f, base)
            if members > _MAX_MEMBERS or size > _MAX_DIRECTORY_BYTES:
                raise ValueError(f"its zip directory lists {members} members in {size} bytes, "
                                 f"more than a save of up to {MAX_LAYERS} layers holds")
            f.seek(base)
            with zipfile.ZipFile(f) as archive:
                meta = _meta.check(_read_meta(archive), src.name)
                dtype = np.dtype(meta.dtype)
                # The arrays go straight into the network's parameter buffer.
                params = _allocate(num_parameters(meta.layers), dtype, src.name)
                for i, (W, b) in enumerate(unpack(params, meta.layers)):
                    _read_array(archive, f"W{i}", dtype, W.shape, into=W)
                    _read_array(archive, f"b{i}", dtype, b.shape, into=b)
                state = []
                if meta.optimizer is not None and meta.optimizer.has_state:
                    for k in range(meta.optimizer.slots):
                        state.append(_read_array(archive, optim._STATE_KEY.format(k), dtype,
                                                 params.shape))
        except _meta.NewerFormat:
            raise
        except ValueError as exc:
            raise ValueError(f"{src.refusal} ({exc})") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, RuntimeError,
                NotImplementedError, struct.error, OverflowError) as exc:
            raise ValueError(f"{src.refusal} ({type(exc).__name__}: {exc})") from None
    finally:
        src.close()
    return meta, params, state
