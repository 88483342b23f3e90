// PiSSA initialisation per weight: the exact SVD (`init pissa`, PEFT's "pissa") against the randomized
// SVD (`init pissa niter 4`, PEFT's "pissa_niter_4"), both measured in the same run on the same weights:
//
//   pissa.shapes[]        per weight: ms each way, exact ÷ fast (the speed-up), how far the fast
//                         principal part s·B·A lies from the exact one (relative Frobenius norm) and
//                         the share of the exact principal part's energy it captures
//   pissa.default_base    the whole default base's projections (what a PiSSA job starts with)
//   pissa.ratio           exact ÷ fast on the largest shape
//
// Weights: the shipped default base's projections (a trained spectrum), and a random Gaussian matrix
// at the shape of a larger model's MLP projection — a flat spectrum, the hardest case for the
// randomized SVD's accuracy. Plain JavaScript on one thread (the SVDs do not use the backend).
import { pretraining, safetensors, Rng } from "../dist/index.js";
import { pissaFactors } from "../dist/internal.js";
import { sig } from "./lib/timing.js";

const NITER = 4;

/** Per mode: which default-base layers, the random shape [out, in] and its rank, timing repeats. */
const BUDGET = {
  smoke: { layers: [0], modules: ["q_proj"], rank: 8, random: { out: 176, in: 64, rank: 8 }, repeats: 1 },
  quick: { layers: [0], modules: null, rank: 8, random: { out: 1408, in: 512, rank: 16 }, repeats: 1 },
  full: { layers: null, modules: null, rank: 8, random: { out: 2816, in: 1024, rank: 16 }, repeats: 1 },
};

/**
 * Two factorisations of the same [out, in] weight compared: `rel_diff` = ‖s·B·A − s·B′·A′‖_F ÷ ‖s·B·A‖_F
 * (how far the principal parts lie apart), `energy` = ‖s·B′·A′‖²_F ÷ ‖s·B·A‖²_F (the share of the exact
 * leading components' energy, Σσ², that the second one captures; at most 1). Where singular values
 * near the r-th are close, the subspaces may rotate apart while the energy stays close to 1.
 */
function compareFactors(a, b, out, inF, r, scaling) {
  let num = 0;
  let den = 0;
  let fast = 0;
  for (let i = 0; i < out; i++) {
    for (let j = 0; j < inF; j++) {
      let x = 0;
      let y = 0;
      for (let c = 0; c < r; c++) {
        x += a.B[i * r + c] * a.A[c * inF + j];
        y += b.B[i * r + c] * b.A[c * inF + j];
      }
      num += (scaling * (x - y)) ** 2;
      den += (scaling * x) ** 2;
      fast += (scaling * y) ** 2;
    }
  }
  return { rel_diff: den > 0 ? Math.sqrt(num / den) : 0, energy: den > 0 ? fast / den : 1 };
}

/** Best of `repeats` timings of `fn`; returns {ms, value} of the last call. */
function timed(fn, repeats) {
  let ms = Infinity;
  let value;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    value = fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return { ms, value };
}

/** One weight both ways: {name, out, in, rank, exact_ms, fast_ms, speedup, principal_rel_diff, energy_captured}. */
function measure(name, w, out, inF, rank, repeats, seed) {
  const scaling = 2; // alpha = 2·rank, as the bench's adapters
  const exact = timed(() => pissaFactors(w, out, inF, rank, scaling), repeats);
  const fast = timed(() => {
    const rng = new Rng(seed);
    return pissaFactors(w, out, inF, rank, scaling, { niter: NITER, rand: () => rng.next() });
  }, repeats);
  const c = compareFactors(exact.value, fast.value, out, inF, rank, scaling);
  return {
    name, out, in: inF, rank,
    exact_ms: sig(exact.ms), fast_ms: sig(fast.ms), speedup: sig(exact.ms / fast.ms, 3),
    principal_rel_diff: sig(c.rel_diff, 3), energy_captured: sig(c.energy, 4),
  };
}

/** Runs the PiSSA benchmark; returns the `pissa` JSON section. */
export async function runPissaBench(ctx) {
  const b = BUDGET[ctx.mode];
  const dir = pretraining.shippedBase("llama");
  if (!dir) throw new Error("pissa bench: the shipped default base (models/) is missing; it holds the weights measured here");
  const file = safetensors.SafetensorsFile.open(`${dir}/model.safetensors`);
  const shapes = [];
  try {
    const names = file.names().filter((n) => /\.layers\.(\d+)\..*_proj\.weight$/.test(n));
    const wanted = names.filter((n) => {
      const layer = Number(/\.layers\.(\d+)\./.exec(n)[1]);
      return (!b.layers || b.layers.includes(layer)) && (!b.modules || b.modules.some((m) => n.includes(`.${m}.`)));
    });
    for (const [i, n] of wanted.entries()) {
      const t = file.read(n);
      ctx.log?.(`pissa: ${n} [${t.shape.join(", ")}]`);
      shapes.push({ ...measure(n.replace(/^model\./, "").replace(/\.weight$/, ""), t.data, t.shape[0], t.shape[1], b.rank, b.repeats, i + 1), source: "default base" });
    }
  } finally {
    file.close();
  }
  const sum = (k) => shapes.reduce((a, s) => a + s[k], 0);
  const defaultBase = {
    weights: shapes.length, all_projections: b.layers === null && b.modules === null,
    exact_s: sig(sum("exact_ms") / 1000), fast_s: sig(sum("fast_ms") / 1000), speedup: sig(sum("exact_ms") / sum("fast_ms"), 3),
    energy_captured_min: sig(Math.min(...shapes.map((s) => s.energy_captured)), 4),
  };
  const { out, in: inF, rank } = b.random;
  ctx.log?.(`pissa: random [${out}, ${inF}] rank ${rank}`);
  const rng = new Rng(7);
  const w = Float32Array.from({ length: out * inF }, () => rng.normal() * 0.02);
  const large = { ...measure("random", w, out, inF, rank, b.repeats, 99), source: "random (flat spectrum)" };
  shapes.push(large);
  return { niter: NITER, threads: 1, shapes, default_base: defaultBase, ratio: large.speedup };
}
