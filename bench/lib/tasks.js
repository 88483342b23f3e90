// The evidence experiments as .peft text: one plan per task with three runs at equal rank and
// equal steps — plain LoRA, BeamLoRA and Light-PEFT with the authors' default settings (as the
// language fills them in) — each over a learning-rate grid and several seeds. The learning rate
// of each run is chosen on the validation split by train(plan)'s summary; test metrics are only
// read at the chosen rate.

/** Sizes per mode. `steps`, `lrs` and `seeds` are shared by the three tasks unless a task overrides them. */
export const EVIDENCE_SIZES = {
  smoke: {
    tasks: ["arithmetic"], seeds: [1, 2], lrs: [3e-3], steps: 12, batch: 8, estimate: "4 steps",
    arithmetic: { train: 64, validation: 8, test: 8 },
    code: { train: 64, validation: 8, test: 8 },
    spam: { train: 64, validation: 8, test: 8, steps: 12, batch: 8, maxLength: 32 },
  },
  // About ten minutes on two cores: the code task (the slowest to train and to decode) is left to the full run.
  quick: {
    tasks: ["arithmetic", "spam"], seeds: [1, 2, 3], lrs: [3e-3, 8e-3], steps: 200, batch: 32, estimate: "10%",
    arithmetic: { train: 2000, validation: 100, test: 200 },
    code: { train: 2000, validation: 100, test: 200 },
    spam: { train: 1200, validation: 150, test: 300, steps: 100, batch: 16, maxLength: 64 },
  },
  // About an hour on two cores with two evidence workers.
  full: {
    tasks: ["arithmetic", "code", "spam"], seeds: [1, 2, 3, 4, 5], lrs: [2e-3, 5e-3, 1.2e-2], steps: 400, batch: 32, estimate: "10%",
    arithmetic: { train: 4000, validation: 200, test: 500 },
    code: { train: 4000, validation: 150, test: 300, steps: 300 },
    spam: { train: 3000, validation: 300, test: 1000, steps: 200, batch: 16, maxLength: 64 },
  },
};

/** The tasks of a mode, in order (the first one's numbers are the top-level JSON keys). */
export function taskNames(mode) {
  return EVIDENCE_SIZES[mode].tasks;
}

/** Targets of the authors' BeamLoRA runs: every linear layer of every block. */
const TARGETS = '"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"';

/** What the task is, for people: shown in tables and docs. */
export const TASK_LABELS = {
  arithmetic: "arithmetic (2-digit addition), exact match",
  code: "code (3-line programs, predict the print), exact match",
  spam: "spam (SpamAssassin e-mail, ham/spam, first 64 tokens), accuracy",
};

/**
 * The model and data lines of a task. `baseDir` is the pretrained base folder: the bench base
 * (bench/lib/base.js) for the generation tasks, peftlab's default base (English, arithmetic and
 * code) for spam, which gets a new classifier head.
 */
function modelAndData(task, s, baseDir) {
  const splits = `train ${s.train}, validation ${s.validation}, test ${s.test}`;
  if (!baseDir) throw new Error(`bench evidence: task ${task} needs the pretrained base folder`);
  const head = task === "spam" ? "head classifier, labels auto" : "head causal_lm";
  // Arithmetic is the built-in `addition` task: with − and × mixed in, a base of this size stays
  // near chance after a few hundred steps, which would make every comparison uninformative.
  const data = { arithmetic: `addition { digits 2, ${splits}, tokenizer model }`, code: `code { lines 3, ${splits}, tokenizer model }`, spam: `spam { ${splits}, tokenizer model }` }[task];
  return [`model base = hf ${JSON.stringify(baseDir)} { ${head} }`, `data d = ${data}`];
}

/** The .peft text of one task's experiment in `mode`. */
export function evidenceSource(task, mode, baseDir) {
  const sizes = EVIDENCE_SIZES[mode];
  if (!sizes) throw new Error(`bench evidence: unknown mode "${mode}"`);
  const s = { ...sizes, ...sizes[task] };
  const lrs = s.lrs.map((x) => String(x)).join(", ");
  const maxLength = s.maxLength ? `, max_length ${s.maxLength}` : "";
  return [
    `# peftlab bench: ${TASK_LABELS[task]} (${mode})`,
    ...modelAndData(task, s, baseDir),
    `adapter lora8 = lora { rank 8, alpha 16, dropout 0.05, target ${TARGETS} }`,
    "beam beams on lora8 { }",
    `prune light { estimate ${s.estimate} }`,
    `train { steps ${s.steps}, batch ${s.batch}, lr [${lrs}] cosine warmup 3%, seeds ${s.seeds.join(" ")}, eval end on all, checkpoint off, log every 1 steps${maxLength} }`,
    "run lora = base + lora8 on d",
    "run beamlora = base + lora8 + beams on d",
    "run lightpeft = base + lora8 + light on d",
    "compare methods = lora, beamlora, lightpeft by accuracy, loss, step_time, peak_memory, trainable_params, foundation_params",
  ].join("\n");
}
