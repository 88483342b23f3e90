// The default base: its size and what building it cost. The llama base ships with the package, so
// nothing is rebuilt here (that takes tens of minutes on two cores): `build_s` is the build time the
// folder's marker recorded when `peftlab pretrain --default --out` made it, `load_ms` is measured now
// (checksums verified, weights read and converted from float16).
import fs from "node:fs";
import path from "node:path";
import { loadModel, pretraining } from "../dist/index.js";
import { sig } from "./lib/timing.js";

/** Runs the base benchmark; returns the `base` JSON section. */
export async function runBaseBench(ctx) {
  const dir = await pretraining.ensureDefaultBase("llama", { log: ctx.log });
  const marker = JSON.parse(fs.readFileSync(path.join(dir, pretraining.MARKER_FILE), "utf8"));
  const t0 = performance.now();
  const model = await loadModel(dir);
  const loadMs = performance.now() - t0;
  let params = 0;
  for (const v of model.stateDict().values()) params += v.size;
  model.dispose();
  const s = marker.spec;
  return {
    family: "llama",
    shipped: dir === pretraining.shippedBaseDir("llama"),
    params,
    build_s: marker.seconds,
    build_backend: marker.backend,
    spec: { layers: s.layers, hidden: s.hidden, heads: s.heads, context: s.context, vocab: s.vocab, steps: s.steps, batch: s.batch, lr: s.lr },
    dtype: marker.dtype ?? "F32",
    bytes: fs.statSync(path.join(dir, "model.safetensors")).size,
    validation_loss: { initial: sig(marker.validation.initial, 4), final: sig(marker.validation.final, 4), unigram: sig(marker.validation.unigram, 4) },
    load_ms: sig(loadMs),
  };
}
