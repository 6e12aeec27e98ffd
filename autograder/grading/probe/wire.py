"""Values across the sandbox wall: plain arrays in ``.npz`` plus a JSON tree, never pickles.

Shared by the grader (outside, as ``autograder.grading.probe.wire``) and the probe (inside the sandbox,
where this folder is the ``autograder`` package). ``encode_value`` turns arguments or a returned value
into a JSON-able tree whose array leaves are stored in a dict of plain ``numpy.ndarray`` (saved
with ``np.savez``); ``decode`` does the reverse with ``allow_pickle=False`` loads. Results come
back as a stream of frames: ``MAGIC``, two little-endian uint32 lengths, a JSON header, a payload.
"""
from __future__ import annotations

import io
import json
import struct

import numpy as np

MAGIC = b"AGW1"
MAX_HEADER = 1 << 20          # 1 MiB of JSON per frame
MAX_PAYLOAD = 64 << 20        # 64 MiB of arrays per frame
MAX_NODES = 10_000            # size of a returned structure (lists of lists...)
ARRAY_KINDS = "biufcUS"       # booleans, numbers, fixed-width strings: never objects


class WireError(ValueError):
    """A frame or value that does not follow the format (truncated, too large, wrong types)."""


def _type_name(value) -> str:
    name = type(value).__name__
    return "".join(ch for ch in name if ch.isalnum() or ch == "_")[:40] or "object"


def encode_value(value, store: dict, memo: dict | None = None, budget: list | None = None, strict: bool = True):
    """JSON tree of ``value``; arrays go into ``store`` (name -> plain ndarray).

    ``strict`` (the grader's inputs) raises on types that cannot cross; otherwise (a student's
    result) such values become ``{"other": type name}`` so the grader can say what came back.
    The same array object passed twice keeps its identity (``memo``).
    """
    memo = {} if memo is None else memo
    budget = [MAX_NODES] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0:
        if strict:
            raise WireError("value too large to transfer")
        return {"other": "structure too large"}
    if value is None:
        return {"none": 1}
    if isinstance(value, (bool, np.bool_)) and not isinstance(value, np.ndarray):
        if type(value) is bool:
            return {"bool": value}
    if type(value) is int:
        return {"int": value} if abs(value) < 2**63 else {"float": float(value)}
    if type(value) is float:
        return {"float": value}
    if type(value) is str:
        return {"str": value[:10_000]}
    if isinstance(value, np.generic) and type(value).__module__ == "numpy":
        if value.dtype.kind not in ARRAY_KINDS:
            return _fail(value, strict)
        key = f"v{len(store)}"
        store[key] = np.array(value)
        return {"scalar": key}
    if isinstance(value, np.ndarray):
        if id(value) in memo:
            return {"array": memo[id(value)]}
        arr = value if type(value) is np.ndarray else np.array(value, subok=False)
        if type(arr) is not np.ndarray or arr.dtype.kind not in ARRAY_KINDS:
            return _fail(value, strict)
        key = f"v{len(store)}"
        store[key] = np.array(arr, copy=True, subok=False)
        memo[id(value)] = key
        return {"array": key}
    if type(value) in (tuple, list):
        tag = "tuple" if type(value) is tuple else "list"
        return {tag: [encode_value(v, store, memo, budget, strict) for v in value]}
    if type(value) is dict and all(type(k) is str for k in value):
        return {"dict": [[k, encode_value(v, store, memo, budget, strict)] for k, v in value.items()]}
    if strict and type(value).__module__.startswith("autograder.grading.specs.") and hasattr(value, "__dict__"):
        # A test fixture object (e.g. a toy decoder passed to the function under test): its class's
        # source (a harness, never the reference) and its attributes cross; the sandbox rebuilds it.
        import inspect
        cls = type(value)
        state = {k: v for k, v in vars(value).items() if type(k) is str}
        return {"object": {"name": cls.__name__, "source": inspect.getsource(cls),
                           "state": encode_value(state, store, memo, budget, strict)}}
    if isinstance(value, np.random.Generator) and strict:
        bg = value.bit_generator
        return {"rng": {"bit_generator": type(bg).__name__, "state": bg.state}}
    if type(value).__module__.startswith("torch") and hasattr(value, "detach") and hasattr(value, "numpy"):
        try:
            arr = np.array(value.detach().cpu().numpy(), subok=False)
        except Exception:  # noqa: BLE001 - e.g. a tensor that needs grad or an odd dtype
            return _fail(value, strict)
        if arr.dtype.kind not in ARRAY_KINDS:
            return _fail(value, strict)
        key = f"v{len(store)}"
        store[key] = arr
        return {"tensor": key} if strict else {"array": key}
    return _fail(value, strict)


def _fail(value, strict):
    if strict:
        raise WireError(f"cannot transfer a value of type {type(value).__name__}")
    return {"other": _type_name(value)}


_CLASSES: dict = {}


def decode(tree, arrays, memo: dict | None = None, depth: int = 0, objects: bool = False):
    """The value of ``tree``; ``arrays`` maps names to arrays (an ``NpzFile`` or a dict).

    ``objects`` (only inside the sandbox, for the grader's own inputs) allows rebuilding fixture
    objects from their class's source; the grader never decodes a student's value with it.
    """
    memo = {} if memo is None else memo
    if depth > 100 or not isinstance(tree, dict) or len(tree) != 1:
        raise WireError("malformed value")
    ((tag, v),) = tree.items()
    if tag == "none":
        return None
    if tag == "bool":
        return bool(v)
    if tag == "int":
        if type(v) is not int:
            raise WireError("malformed int")
        return v
    if tag == "float":
        if type(v) not in (int, float):
            raise WireError("malformed float")
        return float(v)
    if tag == "str":
        return str(v)
    if tag in ("array", "scalar", "tensor"):
        if type(v) is not str:
            raise WireError("malformed array reference")
        if v not in memo:
            arr = arrays[v]
            if type(arr) is not np.ndarray or arr.dtype.kind not in ARRAY_KINDS or arr.dtype.hasobject:
                raise WireError("not a plain numeric array")
            memo[v] = arr
        arr = memo[v]
        if tag == "scalar":
            return arr[()] if arr.ndim == 0 else arr
        if tag == "tensor" and objects:
            import torch
            return torch.from_numpy(arr.copy())
        return arr
    if tag in ("tuple", "list"):
        if type(v) is not list:
            raise WireError("malformed sequence")
        items = [decode(x, arrays, memo, depth + 1, objects) for x in v]
        return tuple(items) if tag == "tuple" else items
    if tag == "dict":
        if type(v) is not list:
            raise WireError("malformed dict")
        return {str(k): decode(x, arrays, memo, depth + 1, objects) for k, x in v}
    if tag == "rng" and objects:
        if v.get("bit_generator") not in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
            raise WireError("unknown bit generator")
        bg = getattr(np.random, v["bit_generator"])()
        bg.state = v["state"]
        return np.random.Generator(bg)
    if tag == "object" and objects:
        key = v["source"]
        if key not in _CLASSES:
            import math
            namespace = {"np": np, "numpy": np, "math": math, "__name__": "fixtures"}
            exec(compile(v["source"], "<fixture>", "exec"), namespace)  # noqa: S102 - runs inside the sandbox only
            _CLASSES[key] = namespace[v["name"]]
        cls = _CLASSES[key]
        obj = cls.__new__(cls)
        obj.__dict__.update(decode(v["state"], arrays, memo, depth + 1, objects))
        return obj
    if tag == "other":
        return type(str(v)[:40] or "object", (), {"__repr__": lambda self: f"<{type(self).__name__}>"})()
    raise WireError(f"unknown tag {tag!r}")


def pack_arrays(store: dict) -> bytes:
    """The arrays of ``store`` as the bytes of an ``.npz`` file (no pickles)."""
    if not store:
        return b""
    buf = io.BytesIO()
    np.savez(buf, **store)
    return buf.getvalue()


def unpack_arrays(payload: bytes) -> dict:
    """Inverse of ``pack_arrays``: name -> plain ndarray, loaded with ``allow_pickle=False``."""
    if not payload:
        return {}
    with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def frame(header: dict, payload: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return MAGIC + struct.pack("<II", len(head), len(payload)) + head + payload


def read_frames(data: bytes):
    """Yield ``(header, payload)`` from a byte string; raise ``WireError`` at the first bad frame."""
    pos = 0
    while pos < len(data):
        if data[pos:pos + 4] != MAGIC or len(data) < pos + 12:
            raise WireError(f"bad frame at byte {pos}")
        n_head, n_pay = struct.unpack("<II", data[pos + 4:pos + 12])
        if n_head > MAX_HEADER or n_pay > MAX_PAYLOAD or len(data) < pos + 12 + n_head + n_pay:
            raise WireError(f"truncated or oversized frame at byte {pos}")
        try:
            header = json.loads(data[pos + 12:pos + 12 + n_head])
        except ValueError as exc:
            raise WireError(f"bad frame header at byte {pos}") from exc
        if not isinstance(header, dict):
            raise WireError(f"bad frame header at byte {pos}")
        yield header, data[pos + 12 + n_head:pos + 12 + n_head + n_pay]
        pos += 12 + n_head + n_pay
