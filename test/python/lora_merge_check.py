#!/usr/bin/env python3
"""Independent check of peftlab's LoRA export: W + scaling * B @ A, as stock PEFT computes it.

    lora_merge_check.py BASE_DIR ADAPTER_DIR [MERGED_DIR]

Reads BASE_DIR/model.safetensors (or the shards listed in model.safetensors.index.json),
ADAPTER_DIR/adapter_config.json and ADAPTER_DIR/adapter_model.safetensors itself (8-byte length, JSON
header, raw little-endian data; no `safetensors` package). Weight files may use Hugging Face's own names
for any supported family: bare GPT-2 names (`h.0.attn.c_attn.weight`) or `transformer.` / `model.` /
`bert.` / `roberta.` prefixes, matched to the adapter's module paths with or without that prefix; F32,
F16 and BF16 are read, and buffers that are not float weights (BOOL / integer tensors such as GPT-2's
`attn.bias` mask, its `attn.masked_bias`) are ignored. Adapter tensor names may carry PEFT's adapter-name
infix (`lora_A.default.weight`). For every module with
lora_A / lora_B it takes r and alpha from the config the way PEFT does (rank_pattern / alpha_pattern keys
matched by `(.*\\.)?(key)$`, first key in file order; use_rslora → alpha / sqrt(r)), transposes GPT-2 Conv1D
weights (fan_in_fan_out), and applies W' = W + scaling * B @ A (plus the bias) to the fixed input
x[i, j] = sin(0.1 + 0.37 * (i * in + j)), i < 3. With MERGED_DIR it also applies that folder's merged weight.

Prints {"torch": bool, "modules": {path: {"r", "scaling", "y": [...], "y_merged": [...] | null}}}.
"""
import json
import math
import os
import re
import struct
import sys

import numpy as np

try:
    import torch
except ImportError:  # numpy computes the same thing
    torch = None

ROWS = 3


FLOAT_DTYPES = ("F64", "F32", "F16", "BF16")
# Buffers of HF GPT-2 checkpoints that are not weights (a causal mask, a constant), whatever their dtype.
IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")
MODEL_PREFIXES = ("transformer.", "model.", "bert.", "roberta.")


def read_safetensors(path):
    """name -> float32 numpy array of every float tensor; other dtypes and GPT-2's mask buffers are skipped."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    body = data[8 + n :]
    out = {}
    for name, info in header.items():
        if info["dtype"] not in FLOAT_DTYPES or name.endswith(IGNORED_SUFFIXES):
            continue
        begin, end = info["data_offsets"]
        raw = body[begin:end]
        if info["dtype"] == "F32":
            arr = torch.frombuffer(bytearray(raw), dtype=torch.float32).numpy() if torch is not None else np.frombuffer(raw, "<f4")
        elif info["dtype"] == "F64":
            arr = np.frombuffer(raw, "<f8").astype(np.float32)
        elif info["dtype"] == "F16":
            arr = np.frombuffer(raw, "<f2").astype(np.float32)
        else:  # BF16: the upper half of a float32
            arr = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        out[name] = np.array(arr, dtype=np.float32).reshape(info["shape"])
    return out


def read_weights(folder):
    """Every float tensor of a model folder: model.safetensors, or the shards its index lists."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if not os.path.exists(os.path.join(folder, "model.safetensors")) and os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        out = {}
        for shard in shards:
            out.update(read_safetensors(os.path.join(folder, shard)))
        return out
    return read_safetensors(os.path.join(folder, "model.safetensors"))


def strip_model_prefix(name):
    for p in MODEL_PREFIXES:
        if name.startswith(p):
            return name[len(p) :]
    return name


class Weights:
    """A folder's tensors, found by a module path with or without the model prefix (`transformer.h.0` = `h.0`)."""

    def __init__(self, folder):
        self.folder = folder
        self.tensors = read_weights(folder)
        self.bare = {}
        for name in self.tensors:
            self.bare.setdefault(strip_model_prefix(name), name)

    def get(self, path, param):
        name = f"{path}.{param}"
        if name in self.tensors:
            return self.tensors[name]
        found = self.bare.get(strip_model_prefix(name))
        return None if found is None else self.tensors[found]


def pattern_value(pattern, path, fallback):
    for key, value in pattern.items():
        if re.match(rf"(.*\.)?({key})$", path):
            return value
    return fallback


def fixed_input(n_in):
    idx = np.arange(ROWS * n_in, dtype=np.float64).reshape(ROWS, n_in)
    return np.sin(0.1 + 0.37 * idx).astype(np.float32)


def linear(x, w, b):
    if torch is not None:
        y = torch.nn.functional.linear(torch.from_numpy(x), torch.from_numpy(w), None if b is None else torch.from_numpy(b))
        return y.numpy()
    y = x @ w.T
    return y if b is None else y + b


def base_weight(weights, path, fan_in_fan_out):
    w = weights.get(path, "weight")
    if w is None:
        raise SystemExit(f"{weights.folder}: no weight for module {path} (looked for {path}.weight with and without a model prefix)")
    return (w.T.copy() if fan_in_fan_out else w), weights.get(path, "bias")


LORA_A = re.compile(r"base_model\.model\.(.+)\.lora_A(\.[^.]+)?\.weight")


def main(argv):
    base_dir, adapter_dir = argv[1], argv[2]
    merged_dir = argv[3] if len(argv) > 3 else None
    with open(f"{adapter_dir}/adapter_config.json", encoding="utf-8") as f:
        config = json.load(f)
    base = Weights(base_dir)
    adapter = read_safetensors(f"{adapter_dir}/adapter_model.safetensors")
    merged = Weights(merged_dir) if merged_dir else None
    fan = bool(config.get("fan_in_fan_out", False))
    out = {}
    prefix = "base_model.model."
    for name in sorted(adapter):
        m = LORA_A.fullmatch(name)
        if not m:
            continue
        path, infix = m.group(1), m.group(2) or ""
        a = adapter[name]
        b_mat = adapter[f"{prefix}{path}.lora_B{infix}.weight"]
        r = pattern_value(config.get("rank_pattern") or {}, path, config["r"])
        alpha = pattern_value(config.get("alpha_pattern") or {}, path, config["lora_alpha"])
        if a.shape[0] != r:
            raise SystemExit(f"{path}: lora_A has rank {a.shape[0]} but the config gives r = {r}")
        scaling = alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r
        w, bias = base_weight(base, path, fan)
        w_new = (w.astype(np.float64) + scaling * (b_mat.astype(np.float64) @ a.astype(np.float64))).astype(np.float32)
        x = fixed_input(w.shape[1])
        entry = {"r": r, "scaling": scaling, "y": linear(x, w_new, bias).ravel().tolist(), "y_merged": None}
        if merged is not None:
            wm, bm = base_weight(merged, path, fan)
            entry["y_merged"] = linear(x, wm, bm).ravel().tolist()
        out[path] = entry
    print(json.dumps({"torch": torch is not None, "modules": out}))


if __name__ == "__main__":
    main(sys.argv)
