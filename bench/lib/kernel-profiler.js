// Where the time of a training step goes: every TensorFlow.js kernel call is timed and tagged
// with its op name, the direction (forward or backward) and the model part that issued it.
//
// How the parts are known without touching the runtime: while installed, the profiler wraps
//   - the engine's runKernelFunc (every kernel of every backend passes through it; the wasm and
//     cpu backends run kernels synchronously, so wall time around the call is the kernel's time),
//   - the engine's addTapeNode, so that each gradient function runs under the part that recorded
//     the forward op, marked "backward",
//   - the apply/delta methods of Linear, the norms, the embedding and every adapter class of the
//     model, and the model's forward and LM-head methods, to name the current part.
// Inside a transformer block the part between linear layers follows the module that just ran:
// after q/k/v it is the attention core (rotary, scores, softmax, head reshapes), after gate/up
// the MLP activation, after o/down the residual adds.
import { tf } from "../../dist/index.js";
import { Embedding, LayerNorm, Linear, RMSNorm } from "../../dist/internal.js";

export const PARTS = {
  setup: "batch tensors",
  embedding: "embedding",
  norm: "norms",
  linear: "frozen linear layers",
  adapter: "LoRA adapters",
  attention: "attention core",
  mlp: "MLP activation",
  residual: "residual adds",
  head: "LM head",
  loss: "loss",
  accumulate: "gradient sums (tape)",
  clip: "gradient norm + clipping",
  optimizer: "AdamW update",
};

/** The block part that follows a linear layer, from its module path (llama, gpt2 and bert names). */
export function partAfterLinear(path) {
  if (/(q_proj|k_proj|v_proj|attn\.c_attn|query|key|value)$/.test(path)) return PARTS.attention;
  if (/(gate_proj|up_proj|mlp\.c_fc|intermediate\.dense)$/.test(path)) return PARTS.mlp;
  return PARTS.residual;
}

/** Installs the wrappers; returns a profiler with start/stop/report and uninstall(). */
export function installProfiler(model, optimizer) {
  const engine = tf.engine();
  const restores = [];
  const state = { part: PARTS.setup, backward: false, depth: 0, on: false, records: new Map() };

  const wrap = (obj, key, make) => {
    const had = Object.prototype.hasOwnProperty.call(obj, key);
    const orig = obj[key];
    obj[key] = make(orig);
    restores.push(() => (had ? (obj[key] = orig) : delete obj[key]));
  };
  const within = (part, fn) => {
    const prev = state.part;
    state.part = part;
    try {
      return fn();
    } finally {
      state.part = prev;
    }
  };

  wrap(engine, "runKernelFunc", (orig) => function (params) {
    if (!state.on) return orig.call(this, params);
    state.depth++;
    const t0 = performance.now();
    try {
      return orig.call(this, params);
    } finally {
      const ms = performance.now() - t0;
      state.depth--;
      if (state.depth === 0) record(state, params.kernelName ?? "custom op", ms);
    }
  });
  wrap(engine, "addTapeNode", (orig) => function (...args) {
    orig.apply(this, args);
    const tape = this.state.activeTape;
    const node = tape?.[tape.length - 1];
    if (node?.gradient) node.gradient = backwardUnder(state, state.part, node.gradient);
  });
  for (const proto of [Linear.prototype]) {
    wrap(proto, "apply", (orig) => function (...args) {
      const out = within(this.path === "lm_head" ? PARTS.head : PARTS.linear, () => orig.apply(this, args));
      state.part = partAfterLinear(this.path);
      return out;
    });
  }
  for (const [proto, part] of [[RMSNorm.prototype, PARTS.norm], [LayerNorm.prototype, PARTS.norm], [Embedding.prototype, PARTS.embedding]]) {
    wrap(proto, "apply", (orig) => function (...args) {
      return within(part, () => orig.apply(this, args));
    });
  }
  const adapterProtos = new Set();
  for (const l of model.linears().values()) for (const a of l.adapters.values()) adapterProtos.add(Object.getPrototypeOf(a));
  for (const proto of adapterProtos) {
    wrap(proto, "delta", (orig) => function (...args) {
      return within(PARTS.adapter, () => orig.apply(this, args));
    });
  }
  wrap(model, "forward", (orig) => function (...args) {
    state.part = PARTS.embedding;
    const out = orig.apply(this, args);
    state.part = PARTS.loss;
    return out;
  });
  wrap(model, "lmLogits", (orig) => function (...args) {
    return within(PARTS.head, () => orig.apply(this, args));
  });
  wrap(engine, "tidy", (orig) => function (nameOrFn, fn) {
    // engine.gradients runs back-propagation in tidy("backward", …): kernels there that no gradient
    // function claims are the sums of gradients flowing into one tensor from several uses.
    if (!state.on || nameOrFn !== "backward") return orig.call(this, nameOrFn, fn);
    const prev = /** @type {const} */ ([state.part, state.backward]);
    [state.part, state.backward] = [PARTS.accumulate, true];
    try {
      return orig.call(this, nameOrFn, fn);
    } finally {
      [state.part, state.backward] = prev;
    }
  });
  wrap(engine, "gradients", (orig) => function (...args) {
    const out = orig.apply(this, args);
    state.part = PARTS.clip;
    return out;
  });
  wrap(optimizer, "apply", (orig) => function (...args) {
    return within(PARTS.optimizer, () => orig.apply(this, args));
  });

  return {
    /** Starts recording (call before a step); the part resets to "batch tensors". */
    start() {
      state.on = true;
      state.part = PARTS.setup;
    },
    stop() {
      state.on = false;
    },
    /** Records by op / part / direction: Map key "op|part|dir" → {ms, calls}. */
    records: () => state.records,
    uninstall() {
      state.on = false;
      for (const r of restores.reverse()) r();
    },
  };
}

function record(state, op, ms) {
  const key = `${op}|${state.part}|${state.backward ? "backward" : "forward"}`;
  const r = state.records.get(key) ?? { op, part: state.part, dir: state.backward ? "backward" : "forward", ms: 0, calls: 0 };
  r.ms += ms;
  r.calls += 1;
  state.records.set(key, r);
}

/** A gradient function that runs (with the closures it returns) under `part`, marked backward. */
function backwardUnder(state, part, gradient) {
  const under = (fn) => (...args) => {
    const prev = /** @type {const} */ ([state.part, state.backward]);
    state.part = part;
    state.backward = true;
    try {
      return fn(...args);
    } finally {
      [state.part, state.backward] = prev;
    }
  };
  return under((dys) => {
    const grads = gradient(dys);
    if (!grads || typeof grads !== "object") return grads;
    const out = {};
    for (const [k, f] of Object.entries(grads)) out[k] = typeof f === "function" ? under(f) : f;
    return out;
  });
}
