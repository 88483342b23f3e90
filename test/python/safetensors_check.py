#!/usr/bin/env python3
"""Independent safetensors reader/writer for cross-checking peftlab (no `safetensors` package).

    safetensors_check.py read FILE    validate FILE by the reference rules, print a JSON summary
    safetensors_check.py write FILE   write a fixed set of tensors to FILE, print the same summary

The summary is {"metadata": {...}, "tensors": {name: {"dtype", "shape", "sum", "head"}}}: sums in float64
over float32 values (integers: exact, as a decimal string), head = first four values. Decoding uses numpy;
when torch is importable, every float tensor is decoded a second time with torch.frombuffer and compared
("torch_checked": true in the output).
"""
import json
import struct
import sys

import numpy as np

try:
    import torch
except ImportError:  # numpy alone is enough
    torch = None

SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1, "BOOL": 1}
NUMPY = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1", "BOOL": "u1"}
TORCH = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16"}


def fail(msg):
    print(json.dumps({"error": msg}))
    sys.exit(2)


def decode(dtype, raw):
    """Values as float32 (floats) or int64 (integers)."""
    if dtype == "BF16":
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32)
    arr = np.frombuffer(raw, dtype=NUMPY[dtype])
    return arr.astype(np.float32) if dtype.startswith("F") else arr.astype(np.int64)


def torch_decode(dtype, raw):
    t = torch.frombuffer(bytearray(raw), dtype=getattr(torch, TORCH[dtype]))
    return t.to(torch.float32).numpy()


def summarise(dtype, shape, values):
    if dtype.startswith("F") or dtype == "BF16":
        total = float(np.sum(values.astype(np.float64)))
        head = [float(v) for v in values[:4]]
    else:
        total = str(int(np.sum(values.astype(object)))) if values.size else "0"
        head = [int(v) for v in values[:4]]
    return {"dtype": dtype, "shape": list(shape), "sum": total, "head": head}


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        fail("HeaderTooSmall")
    (n,) = struct.unpack("<Q", data[:8])
    if n > 100_000_000 or 8 + n > len(data):
        fail("InvalidHeaderLength")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    body = data[8 + n :]
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    at = 0
    out = {}
    torch_checked = torch is not None
    for name, info in entries:
        begin, end = info["data_offsets"]
        count = int(np.prod(info["shape"], dtype=np.int64)) if info["shape"] else 1
        if begin != at or end - begin != count * SIZES[info["dtype"]]:
            fail(f"InvalidOffset {name}")
        at = end
        raw = body[begin:end]
        values = decode(info["dtype"], raw)
        if torch is not None and info["dtype"] in TORCH:
            if not np.array_equal(values, torch_decode(info["dtype"], raw), equal_nan=True):
                fail(f"numpy and torch disagree on {name}")
        out[name] = summarise(info["dtype"], info["shape"], values)
    if at != len(body):
        fail("MetadataIncompleteBuffer")
    return {"metadata": metadata, "tensors": out, "header_bytes": n, "torch_checked": torch_checked}


def fixed_tensors():
    """name -> (dtype, shape, little-endian bytes): values exact in their dtype."""
    ramp = np.arange(-6, 6, dtype=np.float32) / 4
    bf16 = (ramp.view(np.uint32) >> 16).astype("<u2")
    return {
        "w.f32": ("F32", [3, 4], ramp.astype("<f4").tobytes()),
        "w.f16": ("F16", [2, 6], ramp.astype("<f2").tobytes()),
        "w.bf16": ("BF16", [12], bf16.tobytes()),
        "w.f64": ("F64", [4, 3], ramp.astype("<f8").tobytes()),
        "ids.i64": ("I64", [5], np.array([-(2**40), -1, 0, 7, 2**31 - 1], dtype="<i8").tobytes()),
        "ids.i32": ("I32", [2, 2], np.array([-5, 6, 2**31 - 1, -(2**31)], dtype="<i4").tobytes()),
        "mask.u8": ("U8", [3], bytes([0, 127, 255])),
        "mask.bool": ("BOOL", [2], bytes([1, 0])),
        "scalar": ("F32", [], np.array([2.5], dtype="<f4").tobytes()),
    }


def write(path):
    tensors = fixed_tensors()
    order = sorted(tensors, key=lambda k: (-SIZES[tensors[k][0]], k.encode("utf-8")))
    header, at = {"__metadata__": {"format": "pt", "writer": "python"}}, 0
    for name in order:
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [at, at + len(raw)]}
        at += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(tensors[k][2] for k in order))
    return read(path)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("read", "write"):
        fail("usage: safetensors_check.py read|write FILE")
    print(json.dumps(read(sys.argv[2]) if sys.argv[1] == "read" else write(sys.argv[2])))
