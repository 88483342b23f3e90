"""PyTorch reference of bench/big.js: a LoRA training step of a large Llama folder in float32.

    python3 bench/reference/big_step.py --dir FOLDER --threads 2 [--tokens 256] [--rank 16] [--warmup 1] [--repeats 2]

FOLDER is a Hugging Face folder (config.json, one model.safetensors of F32/BF16/F16 tensors); the
weights are read with numpy (no safetensors or transformers package) and widened to float32. The
model is src/runtime/models/llama.ts with grouped-query attention, LoRA (rank r, alpha 2r, B = 0)
on every linear layer of every block, one sequence of `tokens` ids; the step is forward, the
cross-entropy of position t against token t+1, backward, clip_grad_norm_ and torch.optim.AdamW on
the LoRA parameters (activations kept, as PyTorch does by default).
Prints {"available": true, "step_s_median", "load_s", "peak_rss_bytes", "losses", "versions"}.
"""
import argparse
import json
import math
import os
import resource
import time

from common import emit, import_torch, llama_lora_forward, median, read_json, timed, versions

DTYPES = {"F32": ("<f4", 4), "BF16": ("<u2", 2), "F16": ("<f2", 2)}


def load_safetensors(torch, path):
    """name -> float32 tensor, one tensor at a time (bf16 widened by a 16-bit shift)."""
    import numpy as np  # noqa: PLC0415

    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    base = 8 + n
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        kind, size = DTYPES[info["dtype"]]
        start, end = info["data_offsets"]
        raw = mm[base + start:base + end].view(kind)
        if info["dtype"] == "BF16":
            arr = (raw.astype(np.uint32) << 16).view(np.float32)
        else:
            arr = raw.astype(np.float32)
        out[name] = torch.from_numpy(arr.reshape(info["shape"]))
    return out


def build(torch, cfg, w, rank, tokens):
    """LoRA of rank `rank` (alpha 2 * rank) on every projection of the layers; returns (forward, lora_params)."""
    gen = torch.Generator().manual_seed(0)
    adapters = {}
    for name, t in w.items():
        if name.startswith("model.layers.") and name.endswith("_proj.weight"):
            path = name[: -len(".weight")]
            out_f, in_f = t.shape
            bound = 1.0 / math.sqrt(in_f)
            a = ((torch.rand(rank, in_f, generator=gen) * 2 - 1) * bound).requires_grad_(True)
            b = torch.zeros(out_f, rank).requires_grad_(True)
            adapters[path] = (a, b)
    forward = llama_lora_forward(
        torch, w, adapters, layers=cfg["num_hidden_layers"], heads=cfg["num_attention_heads"], kv_heads=cfg["num_key_value_heads"],
        eps=cfg.get("rms_norm_eps", 1e-6), rope_theta=cfg.get("rope_theta", 10000.0), tokens=tokens, scaling=2.0,
    )
    return forward, [p for pair in adapters.values() for p in pair]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    torch = import_torch(args.threads)
    cfg = read_json(os.path.join(args.dir, "config.json"))
    t0 = time.perf_counter()
    w = load_safetensors(torch, os.path.join(args.dir, "model.safetensors"))
    load_s = time.perf_counter() - t0
    forward, params = build(torch, cfg, w, args.rank, args.tokens)
    n = args.tokens
    ids = torch.tensor([3 + (i * 7919) % (cfg["vocab_size"] - 3) for i in range(n)], dtype=torch.long).view(1, n)
    targets = ids[0, 1:]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.0)
    losses = []

    def step():
        opt.zero_grad(set_to_none=True)
        logits = forward(ids)[0, :-1]
        loss = torch.nn.functional.cross_entropy(logits, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(float(loss.detach()))

    ms = timed(step, args.warmup, args.repeats)
    emit({
        "available": True,
        "threads": args.threads,
        "tokens": n,
        "rank": args.rank,
        "load_s": load_s,
        "step_s_median": median(ms) / 1000.0,
        "step_s": [m / 1000.0 for m in ms],
        "losses": losses,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "versions": versions(torch),
    })


if __name__ == "__main__":
    main()
