// What the measurements ran on: the machine and the versions of everything involved.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(import.meta.url);

/** CPU model, core count, memory, OS and load at the start. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    available_parallelism: os.availableParallelism(),
    memory_gb: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    load_average_at_start: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
}

function packageVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), "utf8")).version;
  } catch {
    return null;
  }
}

/** Node, peftlab and TensorFlow.js versions, plus the git commit when there is one. */
export function versionInfo() {
  const own = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  let commit = null;
  try {
    const head = fs.readFileSync(path.join(ROOT, ".git", "HEAD"), "utf8").trim();
    commit = head.startsWith("ref: ") ? fs.readFileSync(path.join(ROOT, ".git", head.slice(5)), "utf8").trim() : head;
  } catch {
    commit = null;
  }
  return {
    peftlab: own.version,
    commit,
    node: process.versions.node,
    "tfjs-core": packageVersion("@tensorflow/tfjs-core"),
    "tfjs-backend-wasm": packageVersion("@tensorflow/tfjs-backend-wasm"),
    "tfjs-backend-cpu": packageVersion("@tensorflow/tfjs-backend-cpu"),
  };
}
