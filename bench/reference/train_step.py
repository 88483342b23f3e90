"""PyTorch reference of bench/train-step.js: one LoRA training step of the same llama-family model.

    python3 bench/reference/train_step.py --spec DIR --threads 1 [--warmup 3] [--repeats 10] [--check 3]

DIR holds what the harness wrote: spec.json (the configuration, the token ids of the batch and a
manifest of tensors) and weights.bin (every weight of peftlab's model, float32 little-endian, under
Hugging Face names, LoRA A/B as `<module>.lora_A.<adapter>`). The model below is
src/runtime/models/llama.ts written again in PyTorch:

  embed -> [RMSNorm -> q,k,v (+LoRA) -> rotary (rotate_half) -> softmax(q k^T / sqrt(d) + causal bias) v
            -> o (+LoRA) -> residual -> RMSNorm -> down(silu(gate) * up) -> residual] x layers
  -> RMSNorm -> lm_head -> cross-entropy of position t against token t+1 (last position unscored)

followed by clip_grad_norm_ on the LoRA parameters and one torch.optim.AdamW step on them only.
Prints {"available": true, "tokens_per_s", "ms_median", "check_losses", "versions"}.
"""
import argparse
import math
import os

from common import emit, import_torch, llama_lora_forward, median, read_json, timed, versions


def load_weights(torch, spec_dir, manifest):
    """name -> float32 tensor, read from weights.bin at the manifest's offsets."""
    import numpy as np  # noqa: PLC0415

    raw = np.fromfile(os.path.join(spec_dir, "weights.bin"), dtype="<f4")
    out = {}
    for t in manifest:
        n = int(math.prod(t["shape"])) if t["shape"] else 1
        chunk = raw[t["offset"]:t["offset"] + n].reshape(t["shape"])
        out[t["name"]] = torch.from_numpy(chunk.copy())
    return out


def build(torch, cfg, w):
    """The model as a closure over its tensors; returns (forward, lora_params)."""
    adapters = {}  # module path -> (A [r, in], B [out, r])
    for name, t in w.items():
        if ".lora_A." in name:
            path, adapter = name.split(".lora_A.")
            b = w[f"{path}.lora_B.{adapter}"]
            t.requires_grad_(True)
            b.requires_grad_(True)
            adapters[path] = (t, b)
    forward = llama_lora_forward(
        torch, w, adapters, layers=cfg["layers"], heads=cfg["heads"], kv_heads=cfg["heads"], eps=cfg["normEps"],
        rope_theta=cfg["ropeTheta"], tokens=cfg["seq"], scaling=cfg["alpha"] / cfg["rank"],
    )
    return forward, [p for pair in adapters.values() for p in pair]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--check", type=int, default=3, help="steps whose losses are reported first (same start as peftlab)")
    args = ap.parse_args()
    torch = import_torch(args.threads)
    spec = read_json(os.path.join(args.spec, "spec.json"))
    cfg = spec["config"]
    weights = load_weights(torch, args.spec, spec["tensors"])
    forward, params = build(torch, cfg, weights)
    b, t = cfg["batch"], cfg["seq"]
    ids = torch.tensor(spec["ids"], dtype=torch.long).view(b, t)
    targets = torch.zeros(b, t, dtype=torch.long)
    targets[:, :-1] = ids[:, 1:]
    scored = torch.zeros(b, t)
    scored[:, :-1] = 1.0
    targets, scored = targets.view(-1), scored.view(-1)
    opt = torch.optim.AdamW(params, lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"], weight_decay=cfg["weightDecay"])
    losses = []

    def step():
        opt.zero_grad(set_to_none=True)
        logits = forward(ids).view(b * t, -1)
        picked = torch.log_softmax(logits, -1).gather(1, targets[:, None])[:, 0]
        loss = -(picked * scored).sum() / scored.sum().clamp(min=1.0)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg["clip"])
        opt.step()
        losses.append(float(loss.detach()))

    for _ in range(args.check):
        step()
    check = list(losses)
    ms = timed(step, args.warmup, args.repeats)
    med = median(ms)
    emit({
        "available": True,
        "threads": args.threads,
        "ms_median": med,
        "ms_best": min(ms),
        "tokens_per_s": b * t / (med / 1000.0),
        "check_losses": check,
        "versions": versions(torch),
    })


if __name__ == "__main__":
    main()
