#!/usr/bin/env node
// peftlab's benchmark and evidence harness (`npm run bench -- [--quick] [--json FILE]`).
//
// Speed: the DSL front end, a matrix product and a LoRA training step, each as a ratio against a
// baseline measured in the same run (PyTorch through bench/reference/, the DSL's goal); absolute
// times are context. Evidence: LoRA vs BeamLoRA vs Light-PEFT on the arithmetic, code and spam
// tasks through train(plan), learning rates chosen on validation, several seeds, paired
// differences with 95 % intervals. Leaks: tensors per step. Profile: where a step's time goes.
// See docs/benchmarks.md (generated from a full run by scripts/gen-benchmarks-doc.js).
import fs from "node:fs";
import { runDslBench } from "./dsl.js";
import { runMatmul } from "./matmul.js";
import { runTrainStep } from "./train-step.js";
import { runPretrainBench } from "./pretrain.js";
import { runBaseBench } from "./base.js";
import { beamloraSection } from "./beamlora.js";
import { lightpeftSection } from "./lightpeft.js";
import { baselinesSection } from "./baselines.js";
import { runLeaks } from "./leaks.js";
import { runProfile } from "./profile.js";
import { runIoBench } from "./io.js";
import { runSweepBench } from "./sweep.js";
import { runFrozenBench } from "./frozen.js";
import { runBigBench } from "./big.js";
import { runPissaBench } from "./pissa.js";
import { parseArgs, selected, USAGE } from "./lib/args.js";
import { defaultParallel, evidenceBackend, runEvidence } from "./lib/evidence-pool.js";
import { estimateFull, experimentUnits, sizesOf } from "./lib/experiments.js";
import { machineInfo, versionInfo } from "./lib/machine.js";
import { profileTables, summaryTable } from "./lib/table.js";

const DSL_SIZES = { smoke: { lines: 500, repeats: 3, warmup: 1 }, quick: { lines: 10_000, repeats: 11, warmup: 3 }, full: { lines: 10_000, repeats: 21, warmup: 5 } };

/** The experiments each evidence section reads (baselines also takes BeamLoRA at rank 8 from the rank experiment). */
const EXPERIMENTS_OF = { beamlora: ["rank"], lightpeft: ["lightpeft"], baselines: ["baselines", "rank"] };

/** The experiment units the selected sections need, by id: the largest (Light-PEFT, baselines) first, so the workers end together. */
export function evidenceUnits(mode, sections) {
  const needed = new Set(sections.flatMap((s) => EXPERIMENTS_OF[s] ?? []));
  const order = ["lightpeft", "baselines", "rank"];
  return experimentUnits(mode).filter((u) => needed.has(u.experiment)).sort((a, b) => order.indexOf(a.experiment) - order.indexOf(b.experiment)).map((u) => u.id);
}

/** Runs the experiment units once for every evidence section (they share runs). */
function evidenceOnce(ctx) {
  let pending = null;
  return () => {
    pending ??= (async () => {
      ctx.backend ??= await evidenceBackend(ctx.mode, ctx.log);
      ctx.log(`evidence: ${ctx.units.length} units on ${ctx.backend}, ${ctx.parallel} at a time`);
      const evidence = await runEvidence(ctx.units, ctx, ctx.parallel);
      ctx.evidence = evidence;
      return evidence;
    })();
    return pending;
  };
}

/** Every benchmark by name: an async function of the context returning its JSON section. */
function benchmarks(ctx) {
  const evidence = evidenceOnce(ctx);
  return {
    dsl: async () => runDslBench(DSL_SIZES[ctx.mode]),
    matmul: () => runMatmul(ctx),
    train_step: () => runTrainStep(ctx),
    pretrain: () => runPretrainBench(ctx),
    base: () => runBaseBench(ctx),
    beamlora: async () => beamloraSection(await evidence(), ctx.mode),
    lightpeft: async () => lightpeftSection(await evidence(), ctx.mode),
    baselines: async () => baselinesSection(await evidence(), ctx.mode),
    leaks: () => runLeaks(ctx),
    profile: () => runProfile(ctx),
    io: () => runIoBench(ctx),
    sweep: () => runSweepBench(ctx),
    frozen: () => runFrozenBench(ctx),
    pissa: () => runPissaBench(ctx),
    big: () => runBigBench(ctx),
  };
}

/** Runs the selected benchmarks; a failing one is recorded as {error} and the rest still run. */
export async function runBench(opts) {
  const t0 = Date.now();
  const log = opts.quiet ? () => {} : (line) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const units = evidenceUnits(opts.mode, selected(opts));
  const parallel = Math.max(1, Math.min(opts.parallel ?? defaultParallel(units.length), units.length));
  const ctx = { mode: opts.mode, log, parallel, units, base: opts.base ?? sizesOf(opts.mode).base, backend: opts.evidenceBackend ?? null, evidence: null };
  const doc = { machine: machineInfo(), backend: null, versions: versionInfo(), mode: opts.mode, started: new Date(t0).toISOString() };
  const all = benchmarks(ctx);
  const times = {};
  for (const name of selected(opts)) {
    const s0 = Date.now();
    log(`${name}: start`);
    try {
      doc[name] = await all[name]();
    } catch (err) {
      doc[name] = { error: err instanceof Error ? err.message : String(err) };
      log(`${name}: FAILED: ${doc[name].error}`);
      if (process.env.PEFTLAB_BENCH_DEBUG) console.error(err);
    }
    times[name] = Number(((Date.now() - s0) / 1000).toFixed(1));
  }
  if (ctx.evidence) {
    doc.evidence_parallel = parallel; // units at once (1: one after the other)
    doc.evidence_order = "interleaved"; // see bench/lib/evidence.js
    doc.evidence_backend = ctx.backend;
    doc.evidence_base = ctx.evidence[0]?.base ?? null;
    doc.evidence_units = ctx.evidence.map((ev) => ({ unit: ev.unit, jobs: ev.results.length, wall_s: Math.round(ev.wallMs / 1000), job_s: Number((ev.wallMs / 1000 / Math.max(1, ev.results.length)).toFixed(2)) }));
    // What the full run's evidence would take on this machine, from this run's seconds per job.
    doc.evidence_full_estimate = estimateFull(doc.evidence_units, opts.mode, parallel);
  }
  // The backend of the headline ratios: native when the addon loaded, else wasm.
  doc.backend = doc.train_step?.backend ?? doc.matmul?.backend ?? doc.profile?.backend ?? "wasm";
  doc.versions.torch = doc.train_step?.torch?.[1]?.versions ?? doc.matmul?.torch?.[1]?.versions ?? null;
  doc.seconds = { ...times, total: Number(((Date.now() - t0) / 1000).toFixed(1)) };
  return doc;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  const doc = await runBench(opts);
  console.log(`peftlab bench (${doc.mode}) on ${doc.machine.cpu}, ${doc.machine.cores} cores; ${doc.seconds.total} s`);
  console.log(summaryTable(doc));
  if (doc.profile && !doc.profile.error) console.log(`\n${profileTables(doc.profile)}`);
  if (opts.json) {
    fs.writeFileSync(opts.json, `${JSON.stringify(doc, null, 1)}\n`);
    console.log(`\nwrote ${opts.json}`);
  }
  const failed = Object.entries(doc).filter(([, v]) => v && typeof v === "object" && v.error);
  if (failed.length) process.exitCode = 1;
}

await main();
