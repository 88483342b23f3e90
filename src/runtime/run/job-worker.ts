// The worker thread of `runPlan` with `jobs` > 1 (job-pool.ts starts it): it initialises its own
// backend, then trains one job at a time as the main thread hands them over, and sends back every
// event, the resume, and the result. While the model is alive it writes the job's config,
// predictions and adapters into the run folder itself (writeTrainedJob), since the model cannot
// cross to the main thread. The main thread writes the logs from the events it receives; so that
// a checkpoint can still record how long the logs were, this side counts the bytes of the lines
// the main thread will write (the same JSON, one line per event).
import { parentPort, workerData } from "node:worker_threads";
import { Buffer } from "node:buffer";
import type { RunEvent } from "../../results/events.js";
import type { BackendName } from "../../dsl/plan.js";
import { initBackend } from "../tensor/backend.js";
import type { Dataset } from "../data/index.js";
import { disposeJob, executeJob } from "./job.js";
import { writeTrainedJob } from "./run-folder-sink.js";
import type { FromWorker, ToWorker, WorkerSetup } from "./job-pool.js";

const setup = workerData as WorkerSetup;
const port = parentPort!;
const send = (m: FromWorker) => port.postMessage(m);
/** Set to 1 by the main thread to stop the current job after a checkpoint. */
const stopFlag = new Int32Array(setup.stop);
/** Datasets loaded by earlier jobs, by data name, while the jobs come from one experiment (see datasetsFor). */
let datasets = new Map<string, Dataset>();
let datasetsOf = "";

/** The dataset cache for a job: kept while jobs share the plan's data, models and base directory, else a fresh one. */
function datasetsFor(m: Extract<ToWorker, { type: "job" }>, baseDir: string): Map<string, Dataset> {
  const { plan } = m.job.spec;
  const key = JSON.stringify([baseDir, plan.data, plan.models]);
  if (key !== datasetsOf) {
    datasets = new Map();
    datasetsOf = key;
  }
  return datasets;
}

/** The byte length of the line the run folder writes for `e` (JsonlWriter: JSON and a newline). */
const lineBytes = (e: RunEvent) => Buffer.byteLength(`${JSON.stringify(e)}\n`);

async function train(m: Extract<ToWorker, { type: "job" }>): Promise<void> {
  const { job, checkpointDir, jobDir, resume } = m;
  const baseDir = m.baseDir ?? setup.baseDir;
  let metricsBytes = 0;
  let eventsBytes = 0;
  const outcome = await executeJob(job.spec, {
    baseDir,
    backend: setup.backendName,
    emit: (e) => {
      if (e.type === "step" || e.type === "eval") metricsBytes += lineBytes(e);
      else eventsBytes += lineBytes(e);
      send({ type: "event", event: e });
    },
    checkpointDir,
    resume,
    shouldStop: () => Atomics.load(stopFlag, 0) === 1,
    datasets: datasetsFor(m, baseDir),
    checkpointExtras: () => ({ metricsBytes, eventsBytes }),
    onResume: (extras, step) => {
      metricsBytes = Number(extras.metricsBytes ?? 0);
      eventsBytes = Number(extras.eventsBytes ?? 0);
      send({ type: "resumed", extras, step });
    },
  });
  try {
    if (jobDir) writeTrainedJob(job.spec.plan, job, jobDir, setup.backendName, outcome, baseDir);
  } finally {
    disposeJob(outcome);
  }
  send({ type: "trained", result: outcome.result, interrupted: outcome.interrupted });
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
/** Null once the backend runs; else why it could not start (then every job is answered with it). */
const ready: Promise<string | null> = initBackend(setup.backendName as BackendName, { log: () => {} }).then(
  () => null,
  (e: unknown) => `could not start the ${setup.backendName} backend: ${message(e)}`,
);

port.on("message", (m: ToWorker) => {
  if (m.type !== "job") return;
  ready
    .then((failure) => (failure !== null ? send({ type: "error", message: failure }) : train(m)))
    .catch((e: unknown) => send({ type: "error", message: message(e) }));
});
