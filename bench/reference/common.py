"""Shared helpers of the PyTorch references: thread setup, timing, JSON output.

Each reference prints exactly one JSON object on stdout. When torch cannot be imported it prints
{"available": false, "reason": "..."} and exits 0, so the harness can report null with the reason.
"""
import json
import math
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


def llama_lora_forward(torch, w, adapters, *, layers, heads, kv_heads, eps, rope_theta, tokens, scaling):
    """A llama causal LM over the tensors `w` (Hugging Face names) with LoRA on the modules of `adapters`.

    `adapters` maps a module path ("model.layers.0.self_attn.q_proj") to its (A [r, in], B [out, r]);
    the output of such a module is x W^T + (x A^T) B^T * scaling. Rotary positions, RMSNorm, SwiGLU,
    grouped key/value heads when kv_heads < heads; the output layer is lm_head, or the embedding when
    the weights are tied. Returns forward(ids [B, T <= tokens]) -> logits [B, T, V].
    """
    nn_f = torch.nn.functional
    hidden = w["model.embed_tokens.weight"].shape[1]
    head_dim = hidden // heads
    half = head_dim // 2
    rep = heads // kv_heads

    def linear(path, x):
        y = nn_f.linear(x, w[path + ".weight"])
        if path in adapters:
            a, b = adapters[path]
            y = y + nn_f.linear(nn_f.linear(x, a), b) * scaling
        return y

    def rms(path, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w[path + ".weight"]

    pos = torch.arange(tokens, dtype=torch.float64)[:, None]
    freq = pos / torch.pow(torch.tensor(float(rope_theta), dtype=torch.float64), (2 * torch.arange(half, dtype=torch.float64)) / head_dim)
    cos = torch.cat([freq.cos(), freq.cos()], -1).float()
    sin = torch.cat([freq.sin(), freq.sin()], -1).float()
    bias = ((1.0 - torch.tril(torch.ones(tokens, tokens))) * -1e9).view(1, 1, tokens, tokens)

    def rope(x):
        t = x.shape[-2]
        x1, x2 = x[..., :half], x[..., half:]
        return x * cos[:t] + torch.cat([-x2, x1], -1) * sin[:t]

    def attention(p, x):
        b, t, _ = x.shape
        q = linear(p + ".q_proj", x).view(b, t, heads, head_dim).transpose(1, 2)
        k = linear(p + ".k_proj", x).view(b, t, kv_heads, head_dim).transpose(1, 2)
        v = linear(p + ".v_proj", x).view(b, t, kv_heads, head_dim).transpose(1, 2)
        q, k = rope(q), rope(k)
        if rep > 1:
            k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        scores = q @ k.transpose(-1, -2) * (1.0 / math.sqrt(head_dim)) + bias[..., :t, :t]
        out = torch.softmax(scores, -1) @ v
        return linear(p + ".o_proj", out.transpose(1, 2).reshape(b, t, heads * head_dim))

    def forward(ids):
        x = nn_f.embedding(ids, w["model.embed_tokens.weight"])
        for i in range(layers):
            p = f"model.layers.{i}"
            x = x + attention(p + ".self_attn", rms(p + ".input_layernorm", x))
            n2 = rms(p + ".post_attention_layernorm", x)
            g = linear(p + ".mlp.gate_proj", n2)
            x = x + linear(p + ".mlp.down_proj", g * torch.sigmoid(g) * linear(p + ".mlp.up_proj", n2))
        return linear("lm_head" if "lm_head.weight" in w else "model.embed_tokens", rms("model.norm", x))

    return forward
