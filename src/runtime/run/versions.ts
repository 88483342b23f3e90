// Package versions recorded in every run's config.json (reproducibility).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

function versionOf(pkg: string): string | null {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/** peftlab, TensorFlow.js packages, chevrotain and Node.js versions. */
export function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version };
  for (const pkg of ["peftlab", "@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-wasm", "@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node", "chevrotain"]) {
    const v = versionOf(pkg);
    if (v) out[pkg] = v;
  }
  return out;
}
