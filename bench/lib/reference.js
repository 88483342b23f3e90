// Running the PyTorch references in bench/reference/ (Debian's python3-torch). Every call
// resolves to the reference's JSON, or to {available: false, reason} when Python or torch is
// missing or the script fails, so a benchmark reports null with the reason instead of crashing.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REFERENCE_DIR = path.resolve(HERE, "..", "reference");

/** The interpreter: $PEFTLAB_BENCH_PYTHON, else Debian's /usr/bin/python3 (where python3-torch lives), else python3. */
export function pythonExecutable(env = process.env) {
  if (env.PEFTLAB_BENCH_PYTHON) return env.PEFTLAB_BENCH_PYTHON;
  return fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

/**
 * Runs `bench/reference/<script>` with `args` and `threads` BLAS/OpenMP threads.
 * Returns the parsed JSON it printed, or {available: false, reason}.
 */
export function runReference(script, args, { threads = 1, timeoutMs = 300_000, env = process.env } = {}) {
  const exe = pythonExecutable(env);
  const file = path.join(REFERENCE_DIR, script);
  const childEnv = { ...env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const res = spawnSync(exe, [file, "--threads", String(threads), ...args], { encoding: "utf8", env: childEnv, timeout: timeoutMs, maxBuffer: 16 << 20 });
  if (res.error) {
    const why = /** @type {NodeJS.ErrnoException} */ (res.error).code === "ENOENT" ? `${exe} not found` : /** @type {NodeJS.ErrnoException} */ (res.error).code === "ETIMEDOUT" ? `timed out after ${timeoutMs / 1000} s` : res.error.message;
    return { available: false, reason: `${script}: ${why}` };
  }
  const lines = (res.stdout ?? "").trim().split("\n").filter(Boolean);
  const last = lines[lines.length - 1];
  if (res.status !== 0 || !last) {
    const err = (res.stderr ?? "").trim().split("\n").slice(-3).join(" | ");
    return { available: false, reason: `${script} exited with ${res.status ?? res.signal}: ${err || "no output"}` };
  }
  try {
    return JSON.parse(last);
  } catch {
    return { available: false, reason: `${script} printed something that is not JSON: ${last.slice(0, 200)}` };
  }
}
