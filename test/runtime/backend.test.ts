import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import { BACKEND_NAMES, initBackend, resolveBackendRequest } from "../../src/runtime/tensor/backend.js";

const requireHere = createRequire(import.meta.url);
const installed = (pkg: string) => {
  try {
    requireHere.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
};

describe("resolveBackendRequest", () => {
  it.each([
    [{ cli: "cpu", env: "wasm", plan: "tensorflow" as const }, "cpu", "cli"],
    [{ cli: "", env: "wasm", plan: "tensorflow" as const }, "wasm", "env"],
    [{ env: "  WASM ", plan: "cpu" as const }, "wasm", "env"],
    [{ env: undefined, plan: "cpu" as const }, "cpu", "plan"],
    [{ cli: null, env: null, plan: null }, "auto", "default"],
    [{}, "auto", "default"],
  ])("%j → %s from %s", (sources, backend, source) => {
    expect(resolveBackendRequest(sources)).toEqual({ backend, source });
  });

  it.each([
    [{ cli: "gpu" }, /--backend: unknown backend "gpu"; expected one of auto, tensorflow-gpu/],
    [{ env: "cuda" }, /PEFTLAB_BACKEND: unknown backend "cuda"/],
    [{ plan: "tpu" as never }, /plan.backend: unknown backend "tpu"/],
  ])("rejects %j naming the source", (sources, message) => {
    expect(() => resolveBackendRequest(sources)).toThrow(message);
  });

  it("lists every BackendName", () => {
    expect([...BACKEND_NAMES]).toEqual(["auto", "tensorflow-gpu", "tensorflow", "webgpu", "native", "wasm", "cpu"]);
  });
});

// One process per test file: the order below is the order backends initialise in it.
describe("initBackend", () => {
  it("wasm with threads requested reports what ran (the threaded build cannot start in Node 20)", async () => {
    const info = await initBackend("wasm", { wasmThreads: true });
    expect(info.name).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    if (/threaded build failed/.test(info.detail)) {
      expect(info.detail).toMatch(/^SIMD, 1 thread; threaded build failed: .+/);
    } else {
      expect(info.detail).toMatch(/^SIMD, \d+ threads?$/);
    }
  });

  it("auto picks the fastest working backend and says why each faster one was skipped", async () => {
    const lines: string[] = [];
    const info = await initBackend("auto", { log: (l) => lines.push(l) });
    expect(lines).toEqual([info.line]);
    expect(info.requested).toBe("auto");
    const order = ["tensorflow-gpu", "tensorflow", "webgpu", "native", "wasm", "cpu"];
    const chosen = info.name === "tensorflow" ? (info.detail.includes("CUDA") ? "tensorflow-gpu" : "tensorflow") : info.name;
    expect(info.skipped.map((s) => s.name)).toEqual(order.slice(0, order.indexOf(chosen)));
    expect(info.line.startsWith(`backend: ${info.name} (${info.detail})`)).toBe(true);
    for (const s of info.skipped) {
      expect(s.reason.length).toBeGreaterThan(0);
      expect(info.line).toContain(`${s.name}: ${s.reason}`);
    }
    const gpu = info.skipped.find((s) => s.name === "tensorflow-gpu");
    if (gpu && installed("@tensorflow/tfjs-node-gpu")) expect(gpu.reason).toMatch(/native addon missing|failed to load|initialisation failed/);
    const node = info.skipped.find((s) => s.name === "tensorflow");
    if (node && !installed("@tensorflow/tfjs-node")) expect(node.reason).toBe("not installed");
    const webgpu = info.skipped.find((s) => s.name === "webgpu");
    if (webgpu && !installed("webgpu")) expect(webgpu.reason).toMatch(/no WebGPU implementation for Node installed/);
  });

  it("an explicitly requested backend that is missing is an error saying why", async () => {
    if (installed("@tensorflow/tfjs-node")) return;
    await expect(initBackend("tensorflow")).rejects.toThrow(/backend "tensorflow" was requested but cannot be used: not installed/);
    await expect(initBackend("webgpu")).rejects.toThrow(/backend "webgpu" was requested but cannot be used: no WebGPU/);
  });

  it("cpu on request, with no skips, and back to wasm", async () => {
    const cpu = await initBackend("cpu");
    expect(cpu).toMatchObject({ name: "cpu", requested: "cpu", skipped: [] });
    expect(cpu.line).toBe("backend: cpu (plain JavaScript) — requested");
    const wasm = await initBackend("wasm");
    expect(wasm.name).toBe("wasm");
    expect(tf.getKernel("UnsortedSegmentSum", "wasm")).toBeDefined();
    expect(tf.getGradient("Greater")).toBeDefined();
  });

  it("rejects names that are not backends", async () => {
    await expect(initBackend("gpu" as never)).rejects.toThrow(/unknown backend "gpu"/);
  });
});
