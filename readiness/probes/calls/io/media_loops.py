"""The C loops of the media path (../csrc/, module _media_loops), reached through ctypes, when built.

`pip install` compiles csrc/*.c as an optional extension: without a C compiler the install
still succeeds and the media path runs its Python implementations (media/shared_port.py SharedPort,
farend/reflector.py), which are the reference for what the C code does. With it, the per-packet work of
the generator (build, sign, send; read, verify, trace) and of the reflector (read, verify, stamp,
sign, send) is a few microseconds of C per packet instead of tens of Python.

READINESS_MEDIA_PYTHON=1 in the environment selects the Python path even when the module exists
(for comparisons; the media process and the responder inherit it).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os

import numpy as np

from . import mmsg

HIST_BINS = 1000

_ROW_FIELDS = [("name", "<u8"), ("trace", "<u8"), ("first_send_ns", "<i8"), ("last_send_ns", "<i8"),
               ("packets", "<i8"), ("octets", "<i8"), ("send_errors", "<i8"), ("sched_count", "<i8"),
               ("sched_max", "<i8"), ("fin_received", "<i8"), ("fin_replies", "<i8"), ("fin_bitmap", "<i8"),
               ("fin_highest", "<i8"), ("unauthenticated", "<i8"), ("malformed", "<i8"), ("trace_lost", "<i8"),
               ("seq", "<i8"), ("next_due", "<i8"), ("period", "<i8"), ("stop_at", "<i8"),
               ("trace_cap", "<u4"), ("trace_used", "<u4"), ("seq0", "<u4"), ("ts0", "<u4"), ("spp", "<u4"),
               ("ssrc", "<u4"), ("session_id", "<u4"), ("length", "<u4"), ("payload_len", "<u4"),
               ("last_errno", "<i4"), ("pt", "u1"), ("dscp", "u1"), ("fill", "u1"), ("active", "u1"), ("sending", "u1"),
               ("hist", "<u4", (HIST_BINS,))]
_SESSION_FIELDS = [("name", "V28"), ("session_id", "<u4"), ("started", "<i8"), ("last", "<i8"), ("fin_at", "<i8"),
                   ("highest", "<i8"), ("tokens", "<f8"), ("reflector_seq", "<u4"), ("received", "<u4"),
                   ("bitmap", "<u4"), ("used", "<u4")]

ROW_DTYPE: np.dtype | None = None
SESSION_DTYPE: np.dtype | None = None
_lib: ctypes.CDLL | None = None
why_not = ""                              # why the C path is off (for the benchmark's report)

_P = ctypes.c_void_p
_I = ctypes.c_int
_SZ = ctypes.c_size_t
_I64 = ctypes.c_int64
_U32 = ctypes.c_uint32


def _dtype(fields: list, offsets: list[int], size: int) -> np.dtype:
    names = [f[0] for f in fields]
    formats = [f[1] if len(f) == 2 else (f[1], f[2]) for f in fields]
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": size})


def _load() -> None:
    global _lib, ROW_DTYPE, SESSION_DTYPE, why_not
    if os.environ.get("READINESS_MEDIA_PYTHON"):
        why_not = "READINESS_MEDIA_PYTHON is set"
        return
    spec = importlib.util.find_spec("readiness.probes.calls.io._media_loops")
    if spec is None or not spec.origin:
        why_not = "the C module _media_loops was not built (no C compiler at install time?)"
        return
    lib = ctypes.CDLL(spec.origin)
    out = (ctypes.c_int64 * 64)()
    n = lib.fm_layout(out)
    layout = list(out[:n])
    rows = len(_ROW_FIELDS)
    sessions = len(_SESSION_FIELDS)
    row = _dtype(_ROW_FIELDS, layout[1:1 + rows], layout[0])
    session = _dtype(_SESSION_FIELDS, layout[2 + rows:2 + rows + sessions], layout[1 + rows])
    if layout[2 + rows + sessions:] != [64, 16] or row.itemsize != layout[0]:
        why_not = "the C module's structures do not match this Python code (rebuild it)"
        return
    for name, args, res in (
            ("fm_key", [_P, _SZ, _P], None),
            ("fm_hmac", [_P, _P, _SZ, _P], None),
            ("fm_tick", [_I, _P, _U32, _I64, _I, _P, _SZ, _P, _P, _P, _I64, _P, _P, _P, _P, _P, _P, _P, _P], _I),
            ("fm_replies", [_I, _P, _P, _P, _SZ, _SZ, ctypes.c_uint, _P, _U32, _P, _P], _I),
            ("fm_reflect", [_I, _P, _P, _SZ, _P, _SZ, _P, _I, _P, _P, _U32, _P, ctypes.c_double, _I64, _I64,
                            _P, _P, _P, _P, _P, _P, _P, _P], None),
            ("fm_index_rebuild", [_P, _U32, _P, _U32], None),
            ("fm_index_put", [_P, _U32, _P, _U32], None),
            ("fm_recv", [_I, _P, _P, ctypes.c_uint, _SZ, _SZ], _I),
            ("fm_use_sha_extensions", [_I], _I)):
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res
    _lib, ROW_DTYPE, SESSION_DTYPE = lib, row, session


def available() -> bool:
    return _lib is not None


def lib() -> ctypes.CDLL:
    assert _lib is not None, why_not
    return _lib


def ptr(a: np.ndarray | bytearray) -> int:
    """Address of a numpy array's or a bytearray's data (the caller keeps the object alive)."""
    if isinstance(a, np.ndarray):
        return a.ctypes.data
    return ctypes.addressof((ctypes.c_char * len(a)).from_buffer(a))


def use_sha_extensions(on: bool) -> bool:
    """Switch the C SHA-256 between the CPU's SHA extensions (default when present) and portable C;
    True when the extensions are in use."""
    return bool(lib().fm_use_sha_extensions(1 if on else 0))


def key_state(key: bytes) -> np.ndarray:
    """The HMAC-SHA-256 key's inner and outer hash states (16 words), as stamps.Signer keeps them."""
    ks = np.zeros(16, dtype=np.uint32)
    buf = ctypes.create_string_buffer(key, len(key))
    lib().fm_key(buf, len(key), ptr(ks))
    return ks


def hmac_sha256(ks: np.ndarray, data: bytes) -> bytes:
    """The full HMAC-SHA-256 of data under a key_state() (for tests against RFC 4231 and hashlib)."""
    out = ctypes.create_string_buffer(32)
    buf = ctypes.create_string_buffer(bytes(data), len(data))
    lib().fm_hmac(ptr(ks), buf, len(data), out)
    return out.raw


def batch_pointers(b: mmsg.DatagramBatch) -> tuple[int, int, int, int]:
    """(receive headers, receive iovecs, data, control) addresses of a DatagramBatch, for the C calls."""
    return (ctypes.addressof(b._rmsg), ctypes.addressof(b._riov), b._data_at, ptr(b.control))


_load()
