// The `native` backend as a whole: the choice by "auto", switching to pure wasm and back in one
// process, a binary that cannot load (fall back with one line; an error when native is requested),
// the thread setting, the build script's soft failure, and no memory growth per addon call.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import { initBackend } from "../../src/runtime/tensor/backend.js";
import { disabledKernels, loadAddon, NATIVE_KERNELS, threadCount } from "../../src/runtime/tensor/native/index.js";

const ROOT = path.join(import.meta.dirname, "..", "..");
const savedEnv = { path: process.env.PEFTLAB_NATIVE_PATH, threads: process.env.PEFTLAB_THREADS, disable: process.env.PEFTLAB_NATIVE_DISABLE };

afterEach(() => {
  for (const [key, value] of [["PEFTLAB_NATIVE_PATH", savedEnv.path], ["PEFTLAB_THREADS", savedEnv.threads], ["PEFTLAB_NATIVE_DISABLE", savedEnv.disable]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

/** The kernel function registered for wasm under each native kernel's name (undefined: none). */
const registered = () => NATIVE_KERNELS.map((k) => tf.getKernel(k.kernelName, "wasm")?.kernelFunc);

describe("the native backend", () => {
  it("is what auto picks on this machine (no GPU backend), right after the GPU ones, and says what is native", async () => {
    const lines: string[] = [];
    const info = await initBackend("auto", { log: (l) => lines.push(l) });
    expect(info.name).toBe("native");
    expect(info.tfjsName).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(info.skipped.map((s) => s.name)).toEqual(["tensorflow-gpu", "tensorflow", "webgpu"]);
    expect(info.detail).toMatch(/^BatchMatMul(, [\w+]+)* native \((AVX2\+FMA|AVX2\+FMA, AVX-512F products|plain C), \d+ threads?\), the rest on wasm SIMD, 1 thread/);
    expect(lines).toEqual([info.line]);
    expect(info.line.startsWith(`backend: native (${info.detail})`)).toBe(true);
  });

  it("native → wasm → native in one process: wasm gets its own kernels back, native its own again", async () => {
    await initBackend("native");
    const native = registered();
    const product = () => tf.tidy(() => Array.from(tf.matMul(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), tf.tensor2d([1, 0, 2, 1, 0, 3], [3, 2])).dataSync()));
    const onNative = product();
    const wasmInfo = await initBackend("wasm");
    expect(wasmInfo.name).toBe("wasm");
    const wasm = registered();
    NATIVE_KERNELS.forEach((k, i) => expect(wasm[i], `${k.kernelName} under wasm`).not.toBe(native[i]));
    const onWasm = product();
    await initBackend("cpu");
    await initBackend("native");
    NATIVE_KERNELS.forEach((k, i) => expect(registered()[i], `${k.kernelName} under native again`).not.toBe(wasm[i]));
    expect(product()).toEqual(onNative);
    expect(onNative).toEqual(onWasm);
    expect(onNative).toEqual([5, 11, 14, 23]);
    await initBackend("wasm");
    expect(registered()).toEqual(wasm); // the very same originals, not wrappers of wrappers
  });

  it("a binary that cannot load: auto falls back to wasm with the reason, native on request is an error", async () => {
    process.env.PEFTLAB_NATIVE_PATH = "/nonexistent/peftlab.node";
    const auto = await initBackend("auto");
    expect(auto.name).toBe("wasm");
    expect(auto.skipped.find((s) => s.name === "native")?.reason).toBe("PEFTLAB_NATIVE_PATH=/nonexistent/peftlab.node: no such file");
    expect(auto.line).toContain("native: PEFTLAB_NATIVE_PATH=/nonexistent/peftlab.node: no such file");
    await expect(initBackend("native")).rejects.toThrow('backend "native" was requested but cannot be used: PEFTLAB_NATIVE_PATH=/nonexistent/peftlab.node: no such file');
    expect(tf.getBackend()).toBe("wasm");
    process.env.PEFTLAB_NATIVE_PATH = path.join(ROOT, "package.json");
    await expect(initBackend("native")).rejects.toThrow(/cannot be used: package\.json failed to load: .*invalid ELF header/);
    delete process.env.PEFTLAB_NATIVE_PATH;
    expect((await initBackend("native")).name).toBe("native");
  });

  it("PEFTLAB_NATIVE_DISABLE leaves the named kernels (a fused op with its gradient) on wasm; an unknown name is an error", async () => {
    const wasm = (await initBackend("wasm"), registered());
    process.env.PEFTLAB_NATIVE_DISABLE = "Add, PeftlabRMSNormGrad";
    const info = await initBackend("native");
    const off = ["Add", "PeftlabRMSNorm", "PeftlabRMSNormGrad", "PeftlabRMSNormGradWeight"];
    NATIVE_KERNELS.forEach((k, i) => {
      if (off.includes(k.kernelName)) expect(registered()[i], `${k.kernelName} disabled`).toBe(wasm[i]);
      else expect(registered()[i], `${k.kernelName} native`).not.toBe(wasm[i]);
    });
    for (const k of off) expect(info.detail).toContain(`${k} (PEFTLAB_NATIVE_DISABLE)`);
    expect(disabledKernels({ PEFTLAB_NATIVE_DISABLE: "" }).size).toBe(0);
    expect(() => disabledKernels({ PEFTLAB_NATIVE_DISABLE: "Add,AdamW" })).toThrow(/PEFTLAB_NATIVE_DISABLE: unknown kernel "AdamW"; the native kernels are BatchMatMul, .*PeftlabAdamW/);
    delete process.env.PEFTLAB_NATIVE_DISABLE;
    await initBackend("wasm");
    await initBackend("native");
    NATIVE_KERNELS.forEach((k, i) => expect(registered()[i], `${k.kernelName} native again`).not.toBe(wasm[i]));
  });

  it("PEFTLAB_THREADS sets the pool size; a bad value is an error naming it", async () => {
    process.env.PEFTLAB_THREADS = "3";
    const info = await initBackend("native");
    expect(info.detail).toContain("3 threads");
    expect(loadAddon().addon.info().threads).toBe(3);
    expect(threadCount({ PEFTLAB_THREADS: " 1 " })).toBe(1);
    expect(threadCount({})).toBeGreaterThanOrEqual(1);
    for (const bad of ["0", "two", "1.5", "1000"]) expect(() => threadCount({ PEFTLAB_THREADS: bad })).toThrow(`PEFTLAB_THREADS: expected an integer from 1 to 256, got "${bad}"`);
    process.env.PEFTLAB_THREADS = "lots";
    await expect(initBackend("native")).rejects.toThrow(/PEFTLAB_THREADS: expected an integer from 1 to 256, got "lots"/);
    delete process.env.PEFTLAB_THREADS;
    await initBackend("native");
  });
});

describe("the addon", () => {
  it("allocates nothing per call that it keeps: RSS is flat over 10,000 products and 200 pool resizes", () => {
    const { addon } = loadAddon();
    const mm = addon["BatchMatMul"] as (...args: number[] | ArrayBuffer[]) => void;
    const heap = new ArrayBuffer(4 << 20);
    const f = new Float32Array(heap);
    for (let i = 0; i < f.length; i++) f[i] = (i % 7) - 3;
    // 96×80·80×64 (threaded), and a batch of 8 small ones (split over matrices)
    const call = (i: number) =>
      i % 2 ? mm(heap, 0, 96 * 80 * 4, 1 << 20, 0, i % 4 === 1 ? 1 : 0, 96, 64, 80, 1, 1, 1, 1, 1, 1, 1, 1) : mm(heap, 0, 1 << 19, 1 << 20, 0, 0, 12, 12, 12, 1, 1, 1, 8, 1, 1, 1, 8);
    for (let i = 0; i < 2000; i++) call(i); // warm up: scratch buffers reach their size
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 10_000; i++) call(i);
    for (let i = 0; i < 200; i++) addon.setThreads(1 + (i % 3));
    addon.setThreads(threadCount());
    const grown = process.memoryUsage().rss - before;
    expect(grown, `RSS grew by ${grown} bytes`).toBeLessThan(4 << 20);
  });

  it("checks its arguments: heap bounds, alignment, count, broadcasting", () => {
    const { addon } = loadAddon();
    const mm = addon["BatchMatMul"] as (...args: unknown[]) => void;
    const heap = new ArrayBuffer(1024);
    const ones = [1, 1, 1, 1, 1, 1, 1, 1];
    expect(() => mm(heap, 0, 0, 0, 0, 0, 16, 16, 16, ...ones)).not.toThrow(); // 16·16 floats fill the heap exactly
    expect(() => mm(heap, 0, 0, 0, 0, 0, 17, 16, 16, ...ones)).toThrow(/BatchMatMul \(native\): argument 1: 272 elements at byte 0 run past the heap's 1024 bytes/);
    expect(() => mm(heap, 0, 0, 4, 0, 0, 16, 16, 16, ...ones)).toThrow(/argument 3: 256 elements at byte 4 run past/);
    expect(() => mm(heap, 2, 0, 0, 0, 0, 1, 1, 1, ...ones)).toThrow(/argument 1: bad heap offset 2/);
    expect(() => mm(heap, 0, 0)).toThrow(/expected 17 arguments \(heap, \.\.\.\), got 3/);
    expect(() => mm(new Float32Array(4), 0, 0, 0, 0, 0, 1, 1, 1, ...ones)).toThrow(/argument 0 must be the wasm heap/);
    expect(() => mm(heap, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 3)).toThrow(/batch axis 3: sizes 2 and 3 do not broadcast/);
  });
});

describe("scripts/build-native.js", () => {
  it("--if-possible without a compiler prints one line and succeeds", () => {
    const out = path.join(ROOT, "native", "build", "never-written.node");
    const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "build-native.js"), "--if-possible", "--force", "--out", out], {
      encoding: "utf8", env: { ...process.env, CC: "/nonexistent/cc" },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("peftlab native kernels not built (no C compiler found (tried /nonexistent/cc; set CC)); the wasm backend will be used\n");
    const strict = spawnSync(process.execPath, [path.join(ROOT, "scripts", "build-native.js"), "--force", "--out", out], { encoding: "utf8", env: { ...process.env, CC: "/nonexistent/cc" } });
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(/build-native: no C compiler found/);
  });
});
