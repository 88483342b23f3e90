// Weight I/O: loading a GPT-2-shaped Hugging Face folder and merging a LoRA adapter into it, each as a
// ratio against reading the same safetensors bytes with fs.readFile (measured in the same run, warm
// page cache for both):
//   io.load_vs_read   loadModel(dir) ÷ readFile(model.safetensors)                        goal ≤ 3
//   io.merge_vs_read  mergeAndUnload(model), the merge in memory, ÷ readFile(...)         goal ≤ 3
//   io.save_vs_write  saveModel(merged, out) ÷ writing the same bytes with fs (+ fsync, as the
//                     atomic writer does): writing alone takes several times a cached read
// `merge_and_save_ms` is what `peftlab merge` spends after loading.
// The folder is written by the benchmark with random weights under Hugging Face's GPT-2 tensor names
// (124M parameters in quick and full mode, a small one in smoke mode), the adapter is a PEFT LoRA
// folder (r 8 on every Conv1D module, fan_in_fan_out). Measured on the default backend ("auto":
// native when its addon is built) and on wasm.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { initBackend, loadAdapter, loadModel, mergeAndUnload, safetensors, saveModel, tf } from "../dist/index.js";
import { sig } from "./lib/timing.js";

/** GPT-2 124M (openai-community/gpt2) and a small one for smoke runs. */
export const SIZES = {
  smoke: { n_layer: 2, n_embd: 64, n_head: 4, vocab_size: 1000, n_positions: 128, repeats: 1 },
  quick: { n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257, n_positions: 1024, repeats: 2 },
  full: { n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257, n_positions: 1024, repeats: 3 },
};

const RANK = 8;

/** Fills a Float32Array with cheap pseudo-random values in [-scale, scale) (xorshift32). */
function randomArray(n, seed, scale = 0.02) {
  const a = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    a[i] = ((x / 4294967296) * 2 - 1) * scale;
  }
  return a;
}

/** The tensors of a GPT-2 LM model.safetensors, bare names as openai-community/gpt2 stores them. */
function gpt2Tensors(c) {
  const d = c.n_embd;
  const shapes = { "wte.weight": [c.vocab_size, d], "wpe.weight": [c.n_positions, d] };
  for (let i = 0; i < c.n_layer; i++) {
    const p = `h.${i}`;
    Object.assign(shapes, {
      [`${p}.ln_1.weight`]: [d], [`${p}.ln_1.bias`]: [d],
      [`${p}.attn.c_attn.weight`]: [d, 3 * d], [`${p}.attn.c_attn.bias`]: [3 * d],
      [`${p}.attn.c_proj.weight`]: [d, d], [`${p}.attn.c_proj.bias`]: [d],
      [`${p}.ln_2.weight`]: [d], [`${p}.ln_2.bias`]: [d],
      [`${p}.mlp.c_fc.weight`]: [d, 4 * d], [`${p}.mlp.c_fc.bias`]: [4 * d],
      [`${p}.mlp.c_proj.weight`]: [4 * d, d], [`${p}.mlp.c_proj.bias`]: [d],
    });
  }
  Object.assign(shapes, { "ln_f.weight": [d], "ln_f.bias": [d] });
  /** @type {Record<string, import("../dist/index.js").safetensors.WritableTensor>} */
  const out = {};
  let seed = 1;
  for (const [name, shape] of Object.entries(shapes)) {
    out[name] = { dtype: "F32", shape, data: randomArray(shape.reduce((a, b) => a * b, 1), seed++) };
  }
  return out;
}

export function writeModelFolder(dir, c) {
  fs.mkdirSync(dir, { recursive: true });
  const config = {
    architectures: ["GPT2LMHeadModel"], model_type: "gpt2", n_layer: c.n_layer, n_embd: c.n_embd, n_head: c.n_head,
    vocab_size: c.vocab_size, n_positions: c.n_positions, n_ctx: c.n_positions, layer_norm_epsilon: 1e-5,
    activation_function: "gelu_new", bos_token_id: 0, eos_token_id: 0, tie_word_embeddings: true,
  };
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
  const tensors = gpt2Tensors(c);
  const params = Object.values(tensors).reduce((a, t) => a + t.data.length, 0);
  safetensors.writeSafetensors(path.join(dir, "model.safetensors"), tensors, { format: "pt" });
  return params;
}

/** A PEFT LoRA folder on every Conv1D module (GPT-2 stores them [in, out]: fan_in_fan_out). */
export function writeAdapterFolder(dir, c) {
  fs.mkdirSync(dir, { recursive: true });
  const d = c.n_embd;
  const mods = { "attn.c_attn": [d, 3 * d], "attn.c_proj": [d, d], "mlp.c_fc": [d, 4 * d], "mlp.c_proj": [4 * d, d] };
  /** @type {Record<string, import("../dist/index.js").safetensors.WritableTensor>} */
  const tensors = {};
  let seed = 1000;
  for (let i = 0; i < c.n_layer; i++) {
    for (const [m, [inF, outF]] of Object.entries(mods)) {
      const p = `base_model.model.transformer.h.${i}.${m}`;
      tensors[`${p}.lora_A.weight`] = { dtype: "F32", shape: [RANK, inF], data: randomArray(RANK * inF, seed++, 0.05) };
      tensors[`${p}.lora_B.weight`] = { dtype: "F32", shape: [outF, RANK], data: randomArray(outF * RANK, seed++, 0.05) };
    }
  }
  safetensors.writeSafetensors(path.join(dir, "adapter_model.safetensors"), tensors);
  fs.writeFileSync(path.join(dir, "adapter_config.json"), JSON.stringify({
    peft_type: "LORA", task_type: "CAUSAL_LM", r: RANK, lora_alpha: 16, lora_dropout: 0, fan_in_fan_out: true,
    target_modules: ["c_attn", "c_proj", "c_fc"], bias: "none", base_model_name_or_path: "gpt2-bench",
  }, null, 2));
}

/**
 * Best of `repeats` timings of an async or sync `fn` (ms); `after` runs untimed after each call.
 * @param {number} repeats
 * @param {() => unknown} fn
 * @param {(result: any) => void} [after]
 */
async function best(repeats, fn, after = () => {}) {
  let ms = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const r = await fn();
    ms = Math.min(ms, performance.now() - t0);
    after(r);
  }
  return ms;
}

/** Load and merge timings on the backend active now. */
async function measureBackend(dir, adapterDir, outDir, repeats, readMs, writeMs) {
  const before = tf.memory().numTensors;
  const loadMs = await best(repeats, () => loadModel(dir, { onWarning: () => {} }), (m) => m.dispose());
  let mergeMs = Infinity;
  let saveMs = Infinity;
  let bothMs = Infinity;
  for (let i = 0; i < repeats; i++) {
    const model = await loadModel(dir, { onWarning: () => {} });
    try {
      loadAdapter(model, adapterDir);
      const t0 = performance.now();
      mergeAndUnload(model);
      const t1 = performance.now();
      saveModel(model, outDir);
      const t2 = performance.now();
      mergeMs = Math.min(mergeMs, t1 - t0);
      saveMs = Math.min(saveMs, t2 - t1);
      bothMs = Math.min(bothMs, t2 - t0);
    } finally {
      model.dispose();
    }
  }
  const leaked = tf.memory().numTensors - before;
  return {
    load_ms: sig(loadMs), merge_ms: sig(mergeMs), save_ms: sig(saveMs), merge_and_save_ms: sig(bothMs),
    load_vs_read: sig(loadMs / readMs, 3), merge_vs_read: sig(mergeMs / readMs, 3), save_vs_write: sig(saveMs / writeMs, 3), tensors_left: leaked,
  };
}

export async function runIoBench(ctx) {
  const c = SIZES[ctx.mode] ?? SIZES.full;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-bench-io-"));
  try {
    const dir = path.join(tmp, "gpt2");
    const adapterDir = path.join(tmp, "lora");
    const outDir = path.join(tmp, "merged");
    const params = writeModelFolder(dir, c);
    writeAdapterFolder(adapterDir, c);
    const file = path.join(dir, "model.safetensors");
    ctx.log?.(`io: ${(params / 1e6).toFixed(1)}M parameters, ${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB`);
    const readMs = await best(c.repeats + 1, () => fs.readFileSync(file));
    const bytes = fs.readFileSync(file);
    const copy = path.join(tmp, "copy.safetensors");
    const writeMs = await best(c.repeats, () => {
      const fd = fs.openSync(copy, "w");
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    }, () => fs.rmSync(copy));
    const backends = {};
    for (const name of /** @type {const} */ (["auto", "wasm"])) {
      try {
        const info = await initBackend(name);
        const r = await measureBackend(dir, adapterDir, outDir, c.repeats, readMs, writeMs);
        backends[name] = { backend: info.name, ...r };
        ctx.log?.(`io: ${info.name}: load ${r.load_ms} ms (${r.load_vs_read}× read), merge ${r.merge_ms} ms (${r.merge_vs_read}× read), save ${r.save_ms} ms (${r.save_vs_write}× write)`);
      } catch (err) {
        backends[name] = { error: err instanceof Error ? err.message : String(err) };
      }
    }
    const head = backends.auto?.load_vs_read !== undefined ? backends.auto : backends.wasm;
    return {
      backend: head?.backend ?? null, params, file_bytes: fs.statSync(file).size, read_ms: sig(readMs), write_ms: sig(writeMs),
      load_vs_read: head?.load_vs_read ?? null, merge_vs_read: head?.merge_vs_read ?? null, goal: 3, backends,
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// `node bench/io.js [--smoke|--quick]`: this benchmark alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const mode = process.argv.includes("--smoke") ? "smoke" : process.argv.includes("--quick") ? "quick" : "full";
  const out = await runIoBench({ mode, log: (l) => process.stderr.write(`${l}\n`) });
  console.log(JSON.stringify(out, null, 1));
}
