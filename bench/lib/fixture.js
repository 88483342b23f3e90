// The "standard small configuration" of the speed benchmarks: one llama-family model with LoRA,
// built through the public API from a .peft source (so the adapter and optimiser settings are the
// ones users get), trained on a fixed synthetic batch whose shape the PyTorch reference repeats.
import { compileSource, createModel, familyConfigFromSpec, injectAdapter, Rng, Trainer } from "../../dist/index.js";

/** Sizes of the step benchmarks, per mode. Every field is mirrored by bench/reference/train_step.py. */
export const STEP_CONFIGS = {
  smoke: { layers: 1, hidden: 32, heads: 2, intermediate: 96, vocab: 32, seq: 16, batch: 4, rank: 4, alpha: 8 },
  quick: { layers: 2, hidden: 128, heads: 4, intermediate: 352, vocab: 64, seq: 64, batch: 16, rank: 8, alpha: 16 },
  full: { layers: 2, hidden: 128, heads: 4, intermediate: 352, vocab: 64, seq: 64, batch: 16, rank: 8, alpha: 16 },
};

/** Settings shared by every mode (the optimiser step both implementations take). */
export const STEP_COMMON = {
  family: "llama",
  targets: ["q_proj", "v_proj"],
  dropout: 0,
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  clip: 1.0,
  normEps: 1e-5,
  ropeTheta: 10000,
};

/** The full configuration of `mode` (size fields plus the common ones). */
export function stepConfig(mode) {
  const size = STEP_CONFIGS[mode];
  if (!size) throw new Error(`bench: unknown mode "${mode}"; expected one of ${Object.keys(STEP_CONFIGS).join(", ")}`);
  return { ...STEP_COMMON, ...size };
}

/** The .peft text of a configuration: one model, one LoRA adapter, one constant-lr train block. */
export function stepSource(c) {
  const targets = c.targets.map((t) => `"${t}"`).join(", ");
  return [
    `model m = llama { layers ${c.layers}, width ${c.hidden}, heads ${c.heads}, intermediate ${c.intermediate}, context ${c.seq}, vocab ${c.vocab} }`,
    `data d = addition { digits 2 }`,
    `adapter a = lora { rank ${c.rank}, alpha ${c.alpha}, dropout ${c.dropout}, target ${targets} }`,
    `train { steps 1000000, batch ${c.batch}, lr ${c.lr} constant warmup 0, optimizer adamw betas ${c.beta1} ${c.beta2} eps ${c.eps}, weight_decay ${c.weightDecay}, clip ${c.clip}, seeds 1 }`,
    `run r = m + a on d`,
  ].join("\n");
}

/** Compiles a .peft text, throwing with the first diagnostic when it does not compile. */
export function compileOrThrow(text, where) {
  const { plan, diagnostics } = compileSource(text, where);
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (!plan || errors.length > 0) {
    const first = errors[0] ?? diagnostics[0];
    throw new Error(`${where}: the benchmark's experiment text does not compile: ${first ? first.message : "no plan"}`);
  }
  return plan;
}

/** A batch of `c.batch` × `c.seq` token ids, every position scored (no padding), seeded. */
export function syntheticBatch(c, seed = 1) {
  const rng = new Rng(seed);
  const n = c.batch * c.seq;
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = rng.int(c.vocab);
  return { kind: /** @type {const} */ ("causal"), size: c.batch, length: c.seq, ids, mask: new Float32Array(n).fill(1), labels: ids, tokens: n };
}

/**
 * Model, adapters and trainer of configuration `c` on the current backend. Call `dispose()` when done.
 * `plugins` are trainer plug-ins (none for the plain step benchmark).
 */
export function buildStepFixture(c, { seed = 1, plugins = [] } = {}) {
  const plan = compileOrThrow(stepSource(c), "bench/standard.peft");
  const run = plan.runs[0];
  const spec = plan.models[run.model];
  const rng = new Rng(seed);
  const model = createModel(familyConfigFromSpec(/** @type {import("../../dist/index.js").BuiltinModelSpec} */ (spec), c.vocab, 0), () => rng.next());
  for (const name of run.adapters) injectAdapter(model, name, plan.adapters[name], { rand: () => rng.next() });
  const trainer = new Trainer({ model, train: run.train, lr: c.lr, seed, plugins });
  const batch = syntheticBatch(c, seed);
  return {
    plan,
    model,
    trainer,
    batch,
    dispose() {
      trainer.dispose();
      model.dispose();
    },
  };
}

/** Every weight of the fixture's model, frozen and trainable, as name → {shape, data}. */
export function fixtureWeights(fx) {
  const out = {};
  for (const [name, v] of fx.model.stateDict()) out[name] = { shape: v.shape, data: v.dataSync() };
  for (const [path, linear] of fx.model.linears()) {
    for (const [adapterName, a] of linear.adapters) {
      if (a.A && a.B) {
        out[`${path}.lora_A.${adapterName}`] = { shape: a.A.shape, data: a.A.dataSync() };
        out[`${path}.lora_B.${adapterName}`] = { shape: a.B.shape, data: a.B.dataSync() };
      }
    }
  }
  return out;
}
