// Tensors left behind per training step (should be 0): a long window of plain LoRA steps on the
// step fixture, and every method of the evidence plans (LoRA, BeamLoRA, Light-PEFT) through
// train(plan), where the window is the steady tail of the run (after Light-PEFT's pruning and
// after BeamLoRA's top-p has reached 1) and the count after the whole job must return to the start.
import { initBackend, tf, train } from "../dist/index.js";
import { buildStepFixture, compileOrThrow, stepConfig } from "./lib/fixture.js";
import { sig } from "./lib/timing.js";

const BUDGET = { smoke: { window: 20, planSteps: 40 }, quick: { window: 200, planSteps: 60 }, full: { window: 1000, planSteps: 150 } };

/** numTensors / numBytes growth over `window` steps of plain LoRA on the smoke-sized fixture. */
function trainerWindow(window) {
  const fx = buildStepFixture(stepConfig("smoke"));
  try {
    for (let i = 0; i < 5; i++) fx.trainer.trainStep(fx.batch);
    const before = tf.memory();
    for (let i = 0; i < window; i++) fx.trainer.trainStep(fx.batch);
    const after = tf.memory();
    return { steps: window, tensors_per_step: (after.numTensors - before.numTensors) / window, bytes_per_step: (after.numBytes - before.numBytes) / window };
  } finally {
    fx.dispose();
  }
}

/** A plan of the three methods on a small arithmetic task with a step event after every step. */
function leakSource(steps) {
  return [
    "model m = llama { layers 2, width 32, heads 2, context 32 }",
    "data d = addition { digits 2, train 400, validation 16, test 16 }",
    'adapter a = lora { rank 4, alpha 8, dropout 0.05, target "q_proj", "v_proj", "up_proj" }',
    `beam b on a { every ${Math.max(4, 2 * Math.round(steps / 12))} steps }`,
    "prune p { estimate 25%, heads 25% per layer, neurons 25% global, modules 50%, ranks 50% }",
    `train { steps ${steps}, batch 8, lr 1e-3, seeds 1, log every 1 steps, eval end on 16 examples, checkpoint off }`,
    "run lora = m + a on d",
    "run beam = m + a + b on d",
    "run lightpeft = m + a + p on d",
  ].join("\n");
}

/** Slope of numTensors over the last 30 % of each job's steps, and tensors left after each job. */
async function planWindows(steps, backend) {
  const plan = compileOrThrow(leakSource(steps), "bench/leaks.peft");
  const perJob = {};
  let startCount = 0;
  await train(plan, {
    backend,
    onJobStart: () => {
      startCount = tf.memory().numTensors;
    },
    onEvent: (job, e) => {
      if (e.type !== "step") return;
      const j = (perJob[job.run.name] ??= { counts: [] });
      j.counts.push({ step: e.step, n: tf.memory().numTensors });
    },
    onJobEnd: (job, result) => {
      // onJobEnd runs after the job's model and trainer were disposed.
      const j = (perJob[job.run.name] ??= { counts: [] });
      j.leaked_after_job = tf.memory().numTensors - startCount;
      if (result.status !== "finished") j.error = result.error ?? result.status;
    },
  });
  const out = {};
  for (const [run, j] of Object.entries(perJob)) {
    const tail = j.counts.filter((c) => c.step >= Math.ceil(steps * 0.7));
    const first = tail[0];
    const last = tail[tail.length - 1];
    const slope = first && last && last.step > first.step ? (last.n - first.n) / (last.step - first.step) : null;
    out[run] = { window_steps: last && first ? last.step - first.step : 0, tensors_per_step: slope === null ? null : sig(slope), leaked_after_job: j.leaked_after_job ?? null };
    if (j.error) out[run].error = j.error;
  }
  return out;
}

/** Runs the leak checks; returns the `leaks` JSON section (tensors_per_step is the worst case). */
export async function runLeaks(ctx) {
  const budget = BUDGET[ctx.mode];
  // The backend users get without a GPU: native when the addon loads, else wasm.
  const backend = await initBackend("native").then(
    () => "native",
    () => initBackend("wasm").then(() => "wasm"),
  );
  ctx.log?.(`leaks: ${budget.window} LoRA steps on ${backend}`);
  const trainer = trainerWindow(budget.window);
  ctx.log?.(`leaks: LoRA, BeamLoRA and Light-PEFT jobs of ${budget.planSteps} steps`);
  const jobs = await planWindows(budget.planSteps, backend);
  const slopes = [trainer.tensors_per_step, ...Object.values(jobs).map((j) => j.tensors_per_step)].filter((x) => typeof x === "number");
  const leftovers = Object.values(jobs).map((j) => j.leaked_after_job).filter((x) => typeof x === "number");
  return {
    backend,
    tensors_per_step: slopes.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0),
    window_steps: budget.window,
    trainer: { ...trainer, tensors_per_step: sig(trainer.tensors_per_step), bytes_per_step: sig(trainer.bytes_per_step) },
    jobs,
    max_leaked_after_job: leftovers.length ? Math.max(...leftovers) : null,
  };
}
