// Command line of bench/run.js.

export const BENCHMARKS = ["dsl", "matmul", "train_step", "pretrain", "base", "beamlora", "lightpeft", "baselines", "leaks", "profile", "io", "sweep", "frozen", "pissa", "big"];

export const USAGE = `usage: npm run bench -- [--quick | --smoke] [--json FILE] [--only NAME,...] [--parallel N] [--base WHICH] [--evidence-backend NAME] [--profile] [--quiet]

  (default)      the full run (what docs/benchmarks.md is generated from; about an hour on two cores)
  --quick        small grids, 1–2 seeds, short runs: about 8 minutes on two cores
  --smoke        a few seconds per benchmark: checks that the harness works (tests use it)
  --json FILE    also write every measurement as one JSON document
  --only LIST    run only these benchmarks: ${BENCHMARKS.join(", ")}
  --parallel N   run up to N evidence units at once, one per worker thread (default: one per
                 core, at most one per unit; 1 runs them one after the other in one thread)
  --base WHICH   the pretrained base of the evidence: default (peftlab's default base; the
                 full and quick runs' own), bench (bench/lib/base.js, 2 layers of width 64;
                 the smoke run's own) or a Hugging Face model folder
  --evidence-backend NAME  the backend of the evidence jobs (default: native where the addon loads, else wasm)
  --profile      also print the share of step time per op kind and per model part
                 (always on in the full run)
  --quiet        no progress lines on stderr`;

function positiveInt(flag, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag.split("=")[0]} needs a whole number of at least 1, got "${text}"`);
  return n;
}

/** Parses argv (without node and the script); throws with a message naming the bad argument. */
export function parseArgs(argv) {
  const o = { mode: "full", json: null, only: null, parallel: null, base: null, evidenceBackend: null, profile: false, quiet: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--quick") o.mode = "quick";
    else if (a === "--smoke") o.mode = "smoke";
    else if (a === "--full") o.mode = "full";
    else if (a === "--json") o.json = value();
    else if (a.startsWith("--json=")) o.json = a.slice(7);
    else if (a === "--only") o.only = value().split(",");
    else if (a.startsWith("--only=")) o.only = a.slice(7).split(",");
    else if (a === "--parallel" || a.startsWith("--parallel=")) o.parallel = positiveInt(a, a.includes("=") ? a.slice(11) : value());
    else if (a === "--base") o.base = value();
    else if (a.startsWith("--base=")) o.base = a.slice(7);
    else if (a === "--evidence-backend") o.evidenceBackend = value();
    else if (a.startsWith("--evidence-backend=")) o.evidenceBackend = a.slice(19);
    else if (a === "--profile") o.profile = true;
    else if (a === "--quiet") o.quiet = true;
    else if (a === "--help" || a === "-h") o.help = true;
    else throw new Error(`unknown argument "${a}"`);
  }
  if (o.only) {
    o.only = o.only.map((n) => n.trim().replace("-", "_")).filter(Boolean);
    const bad = o.only.filter((n) => !BENCHMARKS.includes(n));
    if (bad.length) throw new Error(`--only: unknown benchmark ${bad.map((b) => `"${b}"`).join(", ")}; expected ${BENCHMARKS.join(", ")}`);
  }
  return o;
}

/** The benchmarks to run, in order. The profile runs when asked, in the full run, or when named in --only. */
export function selected(o) {
  if (o.only) return BENCHMARKS.filter((b) => o.only.includes(b));
  return BENCHMARKS.filter((b) => b !== "profile" || o.profile || o.mode === "full");
}
