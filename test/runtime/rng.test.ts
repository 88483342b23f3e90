import { describe, expect, it } from "vitest";
import { hashString, Rng } from "../../src/runtime/rng.js";

const draw = (rng: Rng, n = 5) => Array.from({ length: n }, () => rng.nextUint32());

describe("Rng", () => {
  it.each([0, 1, 42, -7, 2 ** 40 + 3, 0.5, "seed-text"])("is deterministic for seed %s", (seed) => {
    expect(draw(new Rng(seed))).toEqual(draw(new Rng(seed)));
  });

  it("gives different streams for different seeds (including seeds that differ above 2^32)", () => {
    const streams = [0, 1, 2, 2 ** 32, 2 ** 33, -1, 0.25, "a", "b"].map((s) => draw(new Rng(s)).join(","));
    expect(new Set(streams).size).toBe(streams.length);
  });

  it("next() is uniform on [0, 1)", () => {
    const rng = new Rng(7);
    const xs = Array.from({ length: 20000 }, () => rng.next());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    const buckets = new Array(10).fill(0);
    for (const x of xs) buckets[Math.floor(x * 10)]++;
    for (const b of buckets) expect(Math.abs(b - 2000)).toBeLessThan(200);
  });

  it("int(n) covers [0, n) evenly and rejects bad n", () => {
    const rng = new Rng(3);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 7000; i++) counts[rng.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    for (const bad of [0, -1, 2.5, 2 ** 33]) expect(() => rng.int(bad)).toThrow(/Rng.int/);
    expect(rng.range(5, 5)).toBe(5);
  });

  it("normal() has mean 0 and variance 1", () => {
    const rng = new Rng(11);
    const xs = Array.from({ length: 20000 }, () => rng.normal());
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it("shuffle() permutes in place, deterministically", () => {
    const a = new Rng(5).shuffle(Array.from({ length: 50 }, (_, i) => i));
    const b = new Rng(5).shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect(a).toEqual(b);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("state()/setState() resume the exact stream, also through JSON", () => {
    const rng = new Rng(99);
    draw(rng, 13);
    const saved = JSON.parse(JSON.stringify(rng.state()));
    const expected = [rng.next(), rng.int(1000), rng.normal()];
    const resumed = Rng.fromState(saved);
    expect([resumed.next(), resumed.int(1000), resumed.normal()]).toEqual(expected);
    const other = new Rng(99);
    other.setState(saved);
    expect(other.next()).toBe(expected[0]);
  });

  it("setState() rejects states from another seed or malformed states", () => {
    const rng = new Rng(1);
    expect(() => rng.setState(new Rng(2).state())).toThrow(/seed/);
    expect(() => rng.setState({ seed: rng.state().seed, s: [0, 0, 0, 0] })).toThrow(/not all zero/);
    expect(() => rng.setState({ seed: 1, s: [1, 2, 3] } as never)).toThrow(/four uint32/);
  });

  it("fork(label) depends on seed and label only, not on draws", () => {
    const a = new Rng(8);
    const before = draw(a.fork("data"));
    draw(a, 100);
    expect(draw(a.fork("data"))).toEqual(before);
    expect(draw(a.fork("dropout"))).not.toEqual(before);
    expect(draw(new Rng(9).fork("data"))).not.toEqual(before);
  });

  it("hashString is FNV-1a", () => {
    expect(hashString("")).toBe(0x811c9dc5);
    expect(hashString("a")).toBe(0xe40c292c);
  });
});
