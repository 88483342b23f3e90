// One experiment unit in a worker thread (see evidence-pool.js): progress lines and the result go
// back to the main thread as messages.
import { parentPort, workerData } from "node:worker_threads";
import { runUnitEvidence } from "./evidence.js";

const log = (line) => parentPort.postMessage({ type: "log", line });
try {
  const evidence = await runUnitEvidence(workerData.unit, { mode: workerData.mode, backend: workerData.backend, base: workerData.base, log });
  parentPort.postMessage({ type: "done", evidence });
} catch (err) {
  parentPort.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : null });
}
