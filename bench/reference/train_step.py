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

from common import emit, import_torch, median, read_json, timed, versions


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
    nn_f = torch.nn.functional
    layers, heads, hidden = cfg["layers"], cfg["heads"], cfg["hidden"]
    head_dim = hidden // heads
    scaling = cfg["alpha"] / cfg["rank"]
    eps = cfg["normEps"]
    adapters = {}  # module path -> (A [r, in], B [out, r])
    for name, t in w.items():
        if ".lora_A." in name:
            path, adapter = name.split(".lora_A.")
            b = w[f"{path}.lora_B.{adapter}"]
            t.requires_grad_(True)
            b.requires_grad_(True)
            adapters[path] = (t, b)

    def linear(path, x):
        y = nn_f.linear(x, w[path + ".weight"])
        if path in adapters:
            a, b = adapters[path]
            y = y + nn_f.linear(nn_f.linear(x, a), b) * scaling
        return y

    def rms(path, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w[path + ".weight"]

    t_max = cfg["seq"]
    half = head_dim // 2
    pos = torch.arange(t_max, dtype=torch.float64)[:, None]
    freq = pos / torch.pow(torch.tensor(float(cfg["ropeTheta"]), dtype=torch.float64), (2 * torch.arange(half, dtype=torch.float64)) / head_dim)
    cos = torch.cat([freq.cos(), freq.cos()], -1).float()
    sin = torch.cat([freq.sin(), freq.sin()], -1).float()
    causal = torch.tril(torch.ones(t_max, t_max))
    bias = ((1.0 - causal) * -1e9).view(1, 1, t_max, t_max)

    def rope(x):
        x1, x2 = x[..., :half], x[..., half:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def attention(p, x):
        b, t, _ = x.shape
        q = linear(p + ".q_proj", x).view(b, t, heads, head_dim).transpose(1, 2)
        k = linear(p + ".k_proj", x).view(b, t, heads, head_dim).transpose(1, 2)
        v = linear(p + ".v_proj", x).view(b, t, heads, head_dim).transpose(1, 2)
        q, k = rope(q), rope(k)
        scores = q @ k.transpose(-1, -2) * (1.0 / math.sqrt(head_dim)) + bias
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
        return linear("lm_head", rms("model.norm", x))

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
