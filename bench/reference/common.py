"""Shared helpers of the PyTorch references: thread setup, timing, JSON output.

Each reference prints exactly one JSON object on stdout. When torch cannot be imported it prints
{"available": false, "reason": "..."} and exits 0, so the harness can report null with the reason.
"""
import json
import os
import platform
import sys
import time


def emit(obj):
    """Print one JSON document on stdout and exit successfully."""
    sys.stdout.write(json.dumps(obj))
    sys.stdout.write("\n")
    sys.stdout.flush()
    sys.exit(0)


def import_torch(threads):
    """Import torch limited to `threads` threads, or emit an 'unavailable' document."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    try:
        import torch  # noqa: PLC0415 (imported late on purpose: the env vars must be set first)
    except Exception as err:  # ImportError, or a broken install raising something else
        emit({"available": False, "reason": f"cannot import torch with {sys.executable}: {type(err).__name__}: {err}"})
    torch.set_num_threads(threads)
    return torch


def blas_library():
    """The BLAS shared library this process loaded (real path), read from /proc/self/maps; None if unknown.

    Debian's python3-torch calls whatever libblas.so.3 the alternatives system points at: the
    reference (netlib) BLAS by default, OpenBLAS once libopenblas0 is installed. The difference is
    more than 10x, so every measurement records it.
    """
    try:
        with open("/proc/self/maps", "r", encoding="utf-8") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    except OSError:
        return None
    libs = sorted(os.path.realpath(p) for p in paths)
    return ", ".join(libs) if libs else None


def blas_kind(lib):
    if not lib:
        return "unknown"
    low = lib.lower()
    for name in ("openblas", "mkl", "blis", "atlas"):
        if name in low:
            return name
    return "reference (netlib)" if "/blas/libblas" in low else "unknown"


def versions(torch):
    """Versions recorded next to every measurement (call after the first matrix product)."""
    lib = blas_library()
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas_kind(lib),
        "blas_library": lib,
    }


def median(values):
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def timed(fn, warmup, repeats):
    """Run fn warmup times, then time `repeats` calls; returns the list of milliseconds."""
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000.0)
    return ms


def read_json(path):
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f)
