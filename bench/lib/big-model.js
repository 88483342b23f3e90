// A 1B-class Llama folder with random weights, written without holding it in memory, and one
// process's measurement of it (load, LoRA training steps, peak memory) for bench/big.js and the
// scale test (test/big/). The configuration is TinyLlama-1.1B's.
import fs from "node:fs";
import path from "node:path";

/** TinyLlama-1.1B's config.json (sizes, rotary base, norm epsilon). */
export const TINYLLAMA_CONFIG = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  hidden_size: 2048,
  intermediate_size: 5632,
  num_hidden_layers: 22,
  num_attention_heads: 32,
  num_key_value_heads: 4,
  vocab_size: 32000,
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: false,
  hidden_act: "silu",
  torch_dtype: "bfloat16",
  bos_token_id: 1,
  eos_token_id: 2,
};

/**
 * Every tensor of a llama checkpoint of `cfg`: [name, shape, init] in file order (init: "random" or "ones").
 * @returns {[string, number[], "random" | "ones"][]}
 */
export function llamaTensors(cfg) {
  const h = cfg.hidden_size;
  const d = h / cfg.num_attention_heads;
  const kv = cfg.num_key_value_heads * d;
  /** @type {[string, number[], "random" | "ones"][]} */
  const out = [["model.embed_tokens.weight", [cfg.vocab_size, h], "random"]];
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    out.push(
      [`${p}.input_layernorm.weight`, [h], "ones"],
      [`${p}.self_attn.q_proj.weight`, [h, h], "random"],
      [`${p}.self_attn.k_proj.weight`, [kv, h], "random"],
      [`${p}.self_attn.v_proj.weight`, [kv, h], "random"],
      [`${p}.self_attn.o_proj.weight`, [h, h], "random"],
      [`${p}.post_attention_layernorm.weight`, [h], "ones"],
      [`${p}.mlp.gate_proj.weight`, [cfg.intermediate_size, h], "random"],
      [`${p}.mlp.up_proj.weight`, [cfg.intermediate_size, h], "random"],
      [`${p}.mlp.down_proj.weight`, [h, cfg.intermediate_size], "random"],
    );
  }
  out.push(["model.norm.weight", [h], "ones"]);
  if (!cfg.tie_word_embeddings) out.push(["lm_head.weight", [cfg.vocab_size, h], "random"]);
  return out;
}

/** bfloat16 bits of uniform values with standard deviation `std` (U(-a, a), a = std·√3) from a xorshift stream. */
function fillUniformBf16(dst, std, state) {
  let s = state.s;
  const a = std * Math.sqrt(3);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < dst.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    f[0] = ((s >>> 0) / 2147483648 - 1) * a;
    dst[i] = u[0] >>> 16;
  }
  state.s = s;
}

/**
 * Writes `dir`/config.json and model.safetensors (bfloat16; matrices uniform with standard deviation 0.02, as HF initialises them; unit norms) for
 * `cfg`, one tensor at a time. Returns the file's size in bytes.
 */
export function writeRandomLlama(dir, cfg = TINYLLAMA_CONFIG, seed = 1) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "config.json"), `${JSON.stringify(cfg, null, 2)}\n`);
  const tensors = llamaTensors(cfg);
  const header = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: "BF16", shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const file = path.join(dir, "model.safetensors");
  const fd = fs.openSync(file, "w");
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    fs.writeSync(fd, len);
    fs.writeSync(fd, Buffer.from(json, "utf8"));
    const state = { s: (seed * 2654435761) | 1 };
    const chunk = new Uint16Array(1 << 22);
    for (const [, shape, init] of tensors) {
      let left = shape.reduce((a, b) => a * b, 1);
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        const part = chunk.subarray(0, n);
        if (init === "ones") part.fill(0x3f80);
        else fillUniformBf16(part, 0.02, state);
        fs.writeSync(fd, new Uint8Array(part.buffer, 0, n * 2));
        left -= n;
      }
    }
    // on disk before anything is timed: the writeback of 2 GB of dirty pages would otherwise slow
    // whichever precision runs first
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return fs.statSync(file).size;
}
