// Sharded models (`model.safetensors.index.json` + shard files) as one TensorSource, and
// `openWeights` that picks the single-file or the sharded layout of a model folder.

import * as fs from "node:fs";
import * as path from "node:path";
import type { Tensor } from "./safetensors-dtypes.js";
import { SafetensorsFile, type OpenOptions, type TensorInfo, type TensorSource } from "./safetensors-file.js";
import { SafetensorsError } from "./safetensors-header.js";

export const SINGLE_FILE = "model.safetensors";
export const INDEX_FILE = "model.safetensors.index.json";

/** One view over all shards of a sharded model. */
class ShardedSource implements TensorSource {
  constructor(
    readonly path: string,
    readonly metadata: Record<string, string>,
    readonly warnings: string[],
    private readonly order: string[],
    private readonly owner: Map<string, SafetensorsFile>,
    private readonly shards: SafetensorsFile[],
  ) {}

  names(): string[] {
    return [...this.order];
  }

  has(name: string): boolean {
    return this.owner.has(name);
  }

  info(name: string): TensorInfo {
    return this.shard(name).info(name);
  }

  read(name: string): Tensor {
    return this.shard(name).read(name);
  }

  readFloat32Into(name: string, out: Float32Array, onChunk?: (start: number, end: number) => void): void {
    this.shard(name).readFloat32Into(name, out, onChunk);
  }

  close(): void {
    for (const s of this.shards) s.close();
  }

  private shard(name: string): SafetensorsFile {
    const s = this.owner.get(name);
    if (!s) throw new SafetensorsError(this.path, "TensorNotFound", "no such tensor in the weight_map", name);
    return s;
  }
}

/**
 * Opens `dir/<indexName>` and every shard it names. Checks: the index is a JSON object with a
 * `weight_map` of tensor → shard file name (plain names inside `dir`), every shard exists and is a
 * valid safetensors file, and every mapped tensor is in its shard. Shard tensors missing from the map
 * are reported in `warnings` and are not readable through the view.
 */
export function openSharded(dir: string, opts: OpenOptions & { indexName?: string } = {}): TensorSource {
  const indexPath = path.join(dir, opts.indexName ?? INDEX_FILE);
  const { weightMap, metadata } = readIndex(indexPath);
  const files = [...new Set(Object.values(weightMap))].sort();
  const shards: SafetensorsFile[] = [];
  const byFile = new Map<string, SafetensorsFile>();
  try {
    for (const f of files) {
      const p = path.join(dir, f);
      if (!fs.existsSync(p)) {
        throw new SafetensorsError(indexPath, "MissingShard", `weight_map names shard ${JSON.stringify(f)} but ${p} does not exist`);
      }
      const s = SafetensorsFile.open(p, opts);
      shards.push(s);
      byFile.set(f, s);
    }
    const owner = new Map<string, SafetensorsFile>();
    for (const [name, f] of Object.entries(weightMap)) {
      const s = byFile.get(f)!;
      if (!s.has(name)) {
        throw new SafetensorsError(indexPath, "TensorNotFound", `weight_map puts it in ${JSON.stringify(f)} but that shard does not hold it`, name);
      }
      owner.set(name, s);
    }
    const warnings: string[] = [];
    const order: string[] = [];
    for (const s of shards) {
      for (const name of s.names()) {
        if (owner.get(name) === s) order.push(name);
        else warnings.push(`${s.path}: tensor ${JSON.stringify(name)} is not mapped to this shard by ${indexPath}; it is ignored`);
      }
    }
    return new ShardedSource(indexPath, metadata, warnings, order, owner, shards);
  } catch (e) {
    for (const s of shards) s.close();
    throw e;
  }
}

function readIndex(indexPath: string): { weightMap: Record<string, string>; metadata: Record<string, string> } {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(indexPath, "utf8"));
  } catch (e) {
    throw new SafetensorsError(indexPath, "InvalidIndex", `cannot read the index: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new SafetensorsError(indexPath, "InvalidIndex", "the index is not a JSON object");
  }
  const obj = raw as Record<string, unknown>;
  const wm = obj.weight_map;
  if (wm === null || typeof wm !== "object" || Array.isArray(wm)) {
    throw new SafetensorsError(indexPath, "InvalidIndex", "weight_map is missing or not an object");
  }
  const weightMap: Record<string, string> = {};
  for (const [name, f] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof f !== "string" || f === "" || f !== path.basename(f) || f === "." || f === "..") {
      throw new SafetensorsError(indexPath, "InvalidIndex", `weight_map value ${JSON.stringify(f)} must be a plain file name in the model folder`, name);
    }
    weightMap[name] = f;
  }
  const metadata: Record<string, string> = {};
  const meta = obj.metadata;
  if (meta !== undefined && meta !== null) {
    if (typeof meta !== "object" || Array.isArray(meta)) throw new SafetensorsError(indexPath, "InvalidIndex", "metadata is not an object");
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) metadata[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return { weightMap, metadata };
}

/**
 * Opens the weights of an HF model folder: `model.safetensors`, else `model.safetensors.index.json`.
 * Anything else (e.g. only `pytorch_model.bin`) is an error saying what was looked for.
 */
export function openWeights(dir: string, opts: OpenOptions = {}): TensorSource {
  const single = path.join(dir, SINGLE_FILE);
  if (fs.existsSync(single)) return SafetensorsFile.open(single, opts);
  if (fs.existsSync(path.join(dir, INDEX_FILE))) return openSharded(dir, opts);
  const pickled = ["pytorch_model.bin", "pytorch_model.bin.index.json"].filter((f) => fs.existsSync(path.join(dir, f)));
  const hint = pickled.length > 0
    ? ` (found ${pickled.join(", ")}: pickled PyTorch weights are not read; convert them to safetensors)`
    : "";
  throw new SafetensorsError(dir, "NoWeights", `neither ${SINGLE_FILE} nor ${INDEX_FILE} exists${hint}`);
}
