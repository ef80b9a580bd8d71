"""Read PyTorch ``.pth`` state dicts into NumPy arrays without torch and without running pickles.

PyTorch checkpoints are pickles, and unpickling runs whatever code the file names. This reader
never does: a :class:`pickle.Unpickler` subclass resolves only an explicit whitelist of globals
(``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2`` / ``_rebuild_tensor``
and the ``torch.*Storage`` dtypes) to functions of this module, and refuses every other global
with :class:`UnsafePickleError` before anything is called.

Two file layouts are understood:

* the legacy format (torch < 1.6): a sequence of pickles (magic number, protocol version,
  system info, the object with persistent ids for storages, the list of storage keys), then
  each storage's raw bytes preceded by its element count as a little-endian int64;
* the zip format (torch >= 1.6): ``<archive>/data.pkl`` plus one raw file
  ``<archive>/data/<key>`` per storage.

Weight files whose names end in ``-<8 hex digits>.pth`` (the convention of PyTorch hubs: the
digits are a prefix of the file's SHA-256) are checked against that prefix before parsing.
"""

from __future__ import annotations

import collections
import io
import pickle
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from poxscan.core.hashing import file_sha256

__all__ = [
    "LEGACY_MAGIC_NUMBER",
    "TorchFileError",
    "UnsafePickleError",
    "load_state_dict",
    "name_hash_prefix",
]

#: First pickle of every legacy-format file (torch/serialization.py MAGIC_NUMBER).
LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
#: Legacy protocol version written by torch 0.4 to 1.5.
LEGACY_PROTOCOL_VERSION = 1001

# Storage class name -> NumPy dtype of one element. BFloat16 has no NumPy dtype: it is read as
# uint16 and widened to float32 (the upper half of a float32's bits).
_STORAGE_DTYPES: dict[str, np.dtype] = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}

_NAME_HASH = re.compile(r"-([0-9a-f]{8,64})\.(?:pth|pt)$")


class TorchFileError(ValueError):
    """A ``.pth`` file that is corrupt, truncated, of an unknown layout or fails its hash."""


class UnsafePickleError(TorchFileError):
    """The pickle names a global outside the whitelist; nothing of it was executed."""


# -- safe stand-ins for the whitelisted globals ----------------------------------------------


@dataclass(frozen=True)
class _StorageType:
    """What ``torch.FloatStorage`` & co. resolve to: a name and a NumPy dtype, nothing callable."""

    name: str
    dtype: np.dtype


@dataclass(frozen=True)
class _StorageRef:
    """A storage named by a persistent id; its bytes are read after the pickle."""

    key: str
    storage_type: _StorageType
    numel: int


@dataclass(frozen=True)
class _TensorRef:
    """A tensor view of a storage, made into an array once the storage bytes are known."""

    storage: _StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _check_ints(name: str, values: object) -> tuple[int, ...]:
    if not isinstance(values, tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values
    ):
        raise TorchFileError(f"tensor {name} must be a tuple of non-negative ints, got {values!r}")
    return values


def _rebuild_tensor(storage: object, storage_offset: object, size: object, stride: object):
    """Safe ``torch._utils._rebuild_tensor``: record the view, allocate nothing."""
    if not isinstance(storage, _StorageRef):
        raise TorchFileError(f"tensor storage must be a persistent storage, got {storage!r}")
    if not isinstance(storage_offset, int) or storage_offset < 0:
        raise TorchFileError(f"tensor storage offset must be an int >= 0, got {storage_offset!r}")
    size = _check_ints("size", size)
    stride = _check_ints("stride", stride)
    if len(size) != len(stride):
        raise TorchFileError(f"tensor size {size} and stride {stride} differ in length")
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(
    storage: object,
    storage_offset: object,
    size: object,
    stride: object,
    requires_grad: object = False,
    backward_hooks: object = None,
    metadata: object = None,
):
    """Safe ``torch._utils._rebuild_tensor_v2``; gradients, hooks and metadata are dropped."""
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _ordered_dict(*args: object) -> collections.OrderedDict:
    # Only an empty call or one iterable of pairs, as pickle's REDUCE of an OrderedDict passes.
    if len(args) > 1:
        raise TorchFileError(f"OrderedDict called with {len(args)} arguments")
    return collections.OrderedDict(*args)


#: (module, name) -> what the unpickler may resolve it to. Nothing else is ever resolved.
_WHITELIST: dict[tuple[str, str], object] = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    **{("torch", name): _StorageType(name, dtype) for name, dtype in _STORAGE_DTYPES.items()},
}


class _SafeUnpickler(pickle.Unpickler):
    """Unpickler that resolves only :data:`_WHITELIST` and records storages it meets."""

    def __init__(self, file: io.BufferedIOBase, source: str) -> None:
        super().__init__(file, encoding="utf-8")
        self.source = source
        self.storages: dict[str, _StorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _WHITELIST[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self.source}: refusing to load global {module}.{name}: only "
                f"{', '.join(sorted(f'{m}.{n}' for m, n in _WHITELIST))} are allowed "
                "(the file may be malicious or not a plain state dict)"
            ) from None

    def persistent_load(self, pid: object) -> _StorageRef:
        # Legacy: ('storage', type, key, location, numel, view_metadata); zip: the first five.
        if not isinstance(pid, tuple) or len(pid) not in (5, 6):
            raise TorchFileError(f"{self.source}: unsupported persistent id {pid!r}")
        kind = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        if kind != "storage":
            raise TorchFileError(f"{self.source}: unsupported persistent id kind {kind!r}")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise TorchFileError(f"{self.source}: storage type must be a torch.*Storage")
        if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise TorchFileError(f"{self.source}: malformed storage id {pid!r}")
        if len(pid) == 6 and pid[5] is not None:
            raise TorchFileError(f"{self.source}: storage views (pre-0.4 files) not supported")
        ref = self.storages.get(key)
        if ref is None:
            ref = self.storages[key] = _StorageRef(key, storage_type, numel)
        elif ref != _StorageRef(key, storage_type, numel):
            raise TorchFileError(f"{self.source}: storage {key} declared twice differently")
        return ref


# -- materialising tensors --------------------------------------------------------------------


def _to_array(ref: _TensorRef, data: dict[str, np.ndarray], source: str, name: str) -> np.ndarray:
    flat = data[ref.storage.key]
    if not ref.size:
        needed = ref.offset + 1
    else:
        needed = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride, strict=True))
        needed = needed + 1 if all(ref.size) else 0
    if needed > flat.size:
        raise TorchFileError(
            f"{source}: tensor {name!r} reaches element {needed} of a storage of {flat.size}"
        )
    item = flat.itemsize
    view = np.lib.stride_tricks.as_strided(
        flat[ref.offset :],
        shape=ref.size,
        strides=tuple(s * item for s in ref.stride),
        writeable=False,
    )
    out = np.array(view, copy=True, order="C")
    if ref.storage.storage_type.name == "BFloat16Storage":
        out = (out.astype(np.uint32) << 16).view(np.float32)
    return out


def _materialise(obj: object, data: dict[str, np.ndarray], source: str, name: str = "") -> object:
    if isinstance(obj, _TensorRef):
        return _to_array(obj, data, source, name)
    if isinstance(obj, dict):
        return type(obj)(
            (k, _materialise(v, data, source, f"{name}.{k}" if name else str(k)))
            for k, v in obj.items()
        )
    if isinstance(obj, list | tuple):
        return type(obj)(_materialise(v, data, source, name) for v in obj)
    if isinstance(obj, _StorageRef):
        raise TorchFileError(f"{source}: bare storages ({name!r}) are not supported")
    return obj


def _read_legacy(handle: io.BufferedIOBase, source: str) -> object:
    def load_plain(what: str) -> object:
        try:
            return _SafeUnpickler(handle, source).load()
        except UnsafePickleError:
            raise
        except Exception as exc:
            raise TorchFileError(f"{source}: cannot read the {what} ({exc})") from None

    if load_plain("magic number") != LEGACY_MAGIC_NUMBER:
        raise TorchFileError(f"{source}: not a PyTorch file (wrong magic number)")
    version = load_plain("protocol version")
    if version != LEGACY_PROTOCOL_VERSION:
        raise TorchFileError(f"{source}: unsupported legacy protocol version {version!r}")
    sys_info = load_plain("system info")
    if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
        raise TorchFileError(f"{source}: big-endian files are not supported")

    unpickler = _SafeUnpickler(handle, source)
    try:
        obj = unpickler.load()
    except TorchFileError:
        raise
    except Exception as exc:
        raise TorchFileError(f"{source}: cannot read the pickled object ({exc})") from None
    keys = load_plain("storage key list")
    if not isinstance(keys, list) or set(keys) != set(unpickler.storages):
        raise TorchFileError(f"{source}: storage key list does not match the pickled storages")

    data: dict[str, np.ndarray] = {}
    for key in keys:
        ref = unpickler.storages[key]
        head = handle.read(8)
        if len(head) != 8:
            raise TorchFileError(f"{source}: truncated before storage {key}")
        (count,) = struct.unpack("<q", head)
        if count != ref.numel:
            raise TorchFileError(
                f"{source}: storage {key} holds {count} elements, the pickle says {ref.numel}"
            )
        nbytes = count * ref.storage_type.dtype.itemsize
        raw = handle.read(nbytes)
        if len(raw) != nbytes:
            raise TorchFileError(f"{source}: storage {key} is truncated")
        data[key] = np.frombuffer(raw, dtype=ref.storage_type.dtype)
    if handle.read(1):
        raise TorchFileError(f"{source}: unexpected bytes after the last storage")
    return _materialise(obj, data, source)


def _read_zip(path: Path, source: str) -> object:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise TorchFileError(f"{source}: zip file without exactly one <archive>/data.pkl")
        prefix = pkl[0][: -len("data.pkl")]
        byteorder = prefix + "byteorder"
        if byteorder in names and archive.read(byteorder).strip() != b"little":
            raise TorchFileError(f"{source}: big-endian files are not supported")
        unpickler = _SafeUnpickler(io.BytesIO(archive.read(pkl[0])), source)
        try:
            obj = unpickler.load()
        except TorchFileError:
            raise
        except Exception as exc:
            raise TorchFileError(f"{source}: cannot read data.pkl ({exc})") from None
        data: dict[str, np.ndarray] = {}
        for key, ref in unpickler.storages.items():
            member = f"{prefix}data/{key}"
            if member not in names:
                raise TorchFileError(f"{source}: storage {key} missing from the archive")
            raw = archive.read(member)
            nbytes = ref.numel * ref.storage_type.dtype.itemsize
            if len(raw) < nbytes:
                raise TorchFileError(f"{source}: storage {key} is truncated")
            data[key] = np.frombuffer(raw[:nbytes], dtype=ref.storage_type.dtype)
    return _materialise(obj, data, source)


# -- public API -------------------------------------------------------------------------------


def name_hash_prefix(path: str | PathLike) -> str | None:
    """The SHA-256 prefix a hub-style file name carries (``name-57934424.pth``), if any."""
    match = _NAME_HASH.search(Path(path).name)
    return match.group(1) if match else None


def load_state_dict(
    path: str | PathLike,
    *,
    expected_sha256: str | None = None,
    check_name_hash: bool = True,
) -> dict[str, np.ndarray]:
    """Read a PyTorch state dict (legacy or zip format) as NumPy arrays, executing no pickle code.

    Parameters
    ----------
    path : str or path-like
        The ``.pth`` / ``.pt`` file.
    expected_sha256 : str, optional
        Full hex SHA-256 (or a prefix of at least 8 digits) the file must have.
    check_name_hash : bool, default=True
        Also check the SHA-256 prefix a file name such as ``efficientnet-lite0-57934424.pth``
        carries.

    Returns
    -------
    state_dict : dict of str to ndarray
        Parameter and buffer names to C-contiguous arrays (same dtypes as stored; bfloat16
        becomes float32), in file order.

    Raises
    ------
    TorchFileError
        Missing, truncated or malformed file, or a hash mismatch; the message names the file.
    UnsafePickleError
        The pickle refers to a global outside the whitelist (nothing was executed).
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise TorchFileError(f"{source}: no such file")
    expected = [h.lower() for h in (expected_sha256,) if h]
    if check_name_hash and (prefix := name_hash_prefix(path)):
        expected.append(prefix)
    if expected:
        actual = file_sha256(path)
        for want in expected:
            if len(want) < 8 or not actual.startswith(want):
                raise TorchFileError(
                    f"{source}: SHA-256 {actual} does not match the expected {want}; "
                    "refusing to parse it"
                )
    if zipfile.is_zipfile(path):
        obj = _read_zip(path, source)
    else:
        with open(path, "rb") as handle:
            obj = _read_legacy(handle, source)
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and isinstance(v, np.ndarray) for k, v in obj.items()
    ):
        raise TorchFileError(f"{source}: not a flat state dict of tensors")
    return dict(obj)


#: Exposed for tests: the callables the whitelist maps to (none of them torch's).
SAFE_GLOBALS: dict[tuple[str, str], Callable[..., Any] | _StorageType] = dict(_WHITELIST)
