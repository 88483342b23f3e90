// The human-readable summary printed at the end of a run: one table of every benchmark, and the
// profile's tables when there is one. Plain text, fixed-width columns.

/** Formats a number for people: significant digits, thousands separators; "–" for null. */
export function num(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toLocaleString("en");
  return Number(x.toPrecision(digits)).toString();
}

export const pct = (x) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)} %`);
const pm = (s) => (s && s.mean !== null ? `${num(s.mean)} ± ${num(s.std)}` : "–");
const ci = (c) => (c ? `[${num(c[0])}, ${num(c[1])}]` : "–");
const signed = (x) => (x === null || x === undefined ? "–" : `${x >= 0 ? "+" : ""}${num(x)}`);

/** Lays out rows of strings under a header, padding each column to its widest cell. */
export function layout(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? "").length)));
  const line = (r) => r.map((c, i) => String(c ?? "").padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function speedRows(doc) {
  const rows = [];
  const d = doc.dsl;
  if (d && !d.error) rows.push(["dsl", `parse+check+compile, ${num(d.lines)} lines`, `${num(d.lines_per_s)} lines/s`, `goal ${num(d.goal)}`, num(d.lines_per_s / d.goal)]);
  const m = doc.matmul;
  if (m && !m.error) {
    rows.push(["matmul", `${m.size}² float32, ${m.backend}${m.backend === "native" ? ", 1 thread" : ""}`, `${num(m.ours_gflops)} GFLOP/s`, m.torch_gflops === null ? `torch: ${m.torch_reason}` : `torch 1 thread ${num(m.torch_gflops)} (${m.torch_blas})`, num(m.ratio)]);
    const all = m.backends?.native_all_cores;
    if (all?.available) rows.push(["", `  native, ${m.cores} threads`, `${num(all.gflops)} GFLOP/s`, m.torch?.[m.cores]?.available ? `torch ${m.cores} threads ${num(m.torch[m.cores].gflops)}` : "", num(m.ratio_all_cores)]);
    if (m.backend !== "wasm" && m.wasm_gflops !== null) rows.push(["", "  wasm backend", `${num(m.wasm_gflops)} GFLOP/s`, "", num(m.ratio_wasm)]);
    const cpu = m.backends?.cpu;
    if (cpu?.available) rows.push(["", `${cpu.size}² float32, cpu backend`, `${num(cpu.gflops)} GFLOP/s`, "", ""]);
  }
  const t = doc.train_step;
  if (t && !t.error) {
    const c = t.config;
    rows.push(["train_step", `LoRA step, ${c.layers}L×${c.hidden} B${c.batch} T${c.seq} r${c.rank}, ${t.backend}${t.backend === "native" ? ", 1 thread" : ""}`, `${num(t.ours_tokens_per_s)} tokens/s`, t.torch_tokens_per_s === null ? `torch: ${t.torch_reason}` : `torch 1 thread ${num(t.torch_tokens_per_s)}`, num(t.ratio)]);
    if (t.torch?.[2]?.available) rows.push(["", "  vs torch on 2 threads", "", `${num(t.torch[2].tokens_per_s)} tokens/s`, num(t.ratio_vs_torch_2_threads)]);
    const all = t.backends?.native_all_cores;
    if (all?.available) rows.push(["", `  native, ${t.cores} threads`, `${num(all.tokens_per_s)} tokens/s`, t.torch?.[t.cores]?.available ? `torch ${t.cores} threads ${num(t.torch[t.cores].tokens_per_s)}` : "", num(t.ratio_all_cores)]);
    if (t.backend !== "wasm" && t.wasm_tokens_per_s !== null) rows.push(["", "  same step, wasm backend", `${num(t.wasm_tokens_per_s)} tokens/s`, `native ${num(t.speedup_vs_wasm)}× faster`, num(t.ratio_wasm)]);
    const cpu = t.backends?.cpu;
    if (cpu?.available) rows.push(["", "  same step, cpu backend", `${num(cpu.tokens_per_s)} tokens/s`, "", num(t.torch_tokens_per_s ? cpu.tokens_per_s / t.torch_tokens_per_s : null)]);
    if (t.reference_check) rows.push(["", "  same model? first losses ours vs torch", `max |Δ| ${num(t.reference_check.max_abs_diff)}`, t.reference_check.same_model ? "yes" : "NO", ""]);
  }
  const p = doc.pretrain;
  if (p && !p.error) rows.push(["pretrain", `default base (${p.spec.layers}L×${p.spec.hidden} B${p.spec.batch} T${p.spec.context}), ms per step`, `native ${num(p.native_ms_per_step)}`, `wasm ${num(p.wasm_ms_per_step)}`, p.speedup_vs_wasm === null ? "" : `${num(p.speedup_vs_wasm)}×`]);
  const io = doc.io;
  if (io && !io.error) {
    for (const [name, b] of Object.entries(io.backends ?? {})) {
      if (b.error) continue;
      const params = `${num(io.params / 1e6)}M params`;
      rows.push([name === "auto" ? "io" : "", `load a GPT-2 folder (${params}), ${b.backend}`, `${num(b.load_ms)} ms`, `readFile ${num(io.read_ms)} ms`, `${num(b.load_vs_read)}× (goal ≤ ${io.goal})`]);
      rows.push(["", `  merge LoRA into every Conv1D, ${b.backend}`, `${num(b.merge_ms)} ms`, `readFile ${num(io.read_ms)} ms`, `${num(b.merge_vs_read)}× (goal ≤ ${io.goal})`]);
      rows.push(["", `  save the merged model, ${b.backend}`, `${num(b.save_ms)} ms`, `write+fsync ${num(io.write_ms)} ms`, `${num(b.save_vs_write)}×`]);
    }
  }
  const l = doc.leaks;
  const fz = doc.frozen;
  if (fz && !fz.error && fz.available) {
    const s = fz.shapes[0];
    for (const [p, r] of Object.entries(s.precisions)) {
      rows.push([p === "f32" ? "frozen" : "", `frozen ${p} x·Wᵀ and dy·W, ${fz.rows}×[${s.out}, ${s.in}], ${num(r.bytes_per_param)} B/param`, `${num(r.forward_gflops)} / ${num(r.dx_gflops)} GFLOP/s`, `f32 ${num(s.f32_forward_gflops)} / ${num(s.f32_dx_gflops)}`, num(fz.ratio[p])]);
    }
  }
  const pi = doc.pissa;
  if (pi && !pi.error) {
    const large = pi.shapes.at(-1);
    rows.push(["pissa", `PiSSA init, randomized SVD (niter ${pi.niter}) vs exact, [${large.out}, ${large.in}] r${large.rank}, ${large.source}`, `${num(large.fast_ms)} ms`, `exact ${num(large.exact_ms)} ms; energy ${pct(large.energy_captured)}`, `${num(pi.ratio)}×`]);
    const d = pi.default_base;
    rows.push(["", `  ${d.all_projections ? "all " : ""}${d.weights} default-base projection${d.weights === 1 ? "" : "s"}, r${pi.shapes[0].rank}`, `${num(d.fast_s)} s`, `exact ${num(d.exact_s)} s; energy ≥ ${pct(d.energy_captured_min)}`, `${num(d.speedup)}×`]);
  }
  const big = doc.big;
  if (big && !big.error) {
    for (const [p, s] of Object.entries(big.step_s ?? {})) {
      rows.push([p === Object.keys(big.step_s)[0] ? "big" : "", `${num(big.params / 1e9, 2)}B llama, ${p} base, LoRA r${big.rank} on every linear, 1×${big.tokens} tokens: peak RSS ${num(big.peak_rss_gb[p], 2)} GB, load ${num(big.load_s[p])} s`, `${num(s)} s/step`, big.torch.step_s ? `PyTorch f32 ${num(big.torch.step_s)} s/step` : "PyTorch n/a", num(big.step_vs_torch[p])]);
    }
    for (const [p, e] of Object.entries(big.errors ?? {})) rows.push(["", `big ${p}: ${e}`, "", "", ""]);
  }
  const sw = doc.sweep;
  if (sw && !sw.error) rows.push(["sweep", `${sw.jobs} jobs × ${sw.steps} steps, ${sw.backend}, --jobs 1 ÷ --jobs 2`, `${num(sw.jobs1_ms / 1000)} s / ${num(sw.jobs2_ms / 1000)} s`, `goal ≥ ${sw.goal}; cores used ${num(sw.jobs1_cores_used, 2)} / ${num(sw.jobs2_cores_used, 2)}`, `${num(sw.speedup_jobs2)}×`]);
  if (sw && !sw.error && sw.queue_overhead !== null && sw.queue_overhead !== undefined) rows.push(["", `the same through --queue (one worker, --concurrency 2) ÷ --jobs 2 − 1`, `${num(sw.queue_ms / 1000)} s / ${num(sw.jobs2_ms / 1000)} s`, `goal ≤ ${sw.queue_goal}; ${num(sw.queue_added_ms_per_job)} ms added per job`, `${signed(sw.queue_overhead)}`]);
  if (l && !l.error) rows.push(["leaks", `tensors per step (${num(l.window_steps)}-step window + each method)`, num(l.tensors_per_step), `left after a job: ${num(l.max_leaked_after_job)}`, ""]);
  return rows;
}

function evidenceRows(doc) {
  const rows = [];
  const b = doc.beamlora;
  if (b && !b.error) {
    for (const t of b.by_task) {
      rows.push(["beamlora", `${t.task} r${t.rank}: exact match (${t.seeds} seeds, chance ${num(t.chance)})`, `LoRA ${pm(t.lora)} (lr ${num(t.lora.lr)})`, `BeamLoRA ${pm(t.beamlora)} (lr ${num(t.beamlora.lr)}, τ ${num(t.beamlora.tau)})`, `Δ ${signed(t.diff)} ${ci(t.ci95)}, detects ${num(t.detectable_effect)}`]);
    }
    rows.push(["", "claim: BeamLoRA beats LoRA at equal rank", "", "", b.verdict]);
  }
  const p = doc.lightpeft;
  if (p && !p.error) {
    for (const f of p.frontier) {
      rows.push(["lightpeft", `${f.settings.name}: step time, memory ÷ LoRA`, `${num(f.step_time_ratio)}, ${num(f.peak_memory_ratio)}`, `trainable ${pct(f.trainable_vs_lora)}`, `Δ ${signed(f.accuracy_diff)} ${ci(f.accuracy_ci95)}${f.meets_headline ? " (headline)" : ""}`]);
    }
    rows.push(["", "claim: ≥ 1.6× faster, ≤ 0.65× memory, comparable accuracy", p.headline ? `mildest: ${p.headline.settings.name}` : "no setting reaches it", "", p.verdict]);
  }
  if (Array.isArray(doc.baselines)) {
    for (const e of doc.baselines) rows.push(["baselines", `${e.method} − LoRA, rank 8 (${e.seeds} seeds)`, `${pm(e.test_accuracy)} (lr ${num(e.lr)})`, `LoRA ${pm(e.lora_test_accuracy)}`, `Δ ${signed(e.diff)} ${ci(e.ci95)} ${e.within_margin}`]);
  }
  return rows;
}

/** The whole summary table of a result document. */
export function summaryTable(doc) {
  const rows = [...speedRows(doc), ...evidenceRows(doc)];
  for (const [name, section] of Object.entries(doc)) {
    if (section && typeof section === "object" && section.error) rows.push([name, "FAILED", section.error, "", ""]);
  }
  return layout(["benchmark", "measure", "ours", "reference", "ratio / difference"], rows);
}

/** The profile's two tables (top rows by share of step time). */
export function profileTables(p, top = 15) {
  const head = `profile (${p.backend}, ${p.config.layers}L×${p.config.hidden} B${p.config.batch} T${p.config.seq}): ${num(p.step_ms)} ms per step (${num(p.step_ms_unprofiled)} without the profiler), ${num(p.kernel_calls_per_step)} kernel calls; ${pct(p.outside_kernels_share)} outside kernels`;
  const rows = (list) => list.slice(0, top).map((r) => [r.name, `${num(r.ms_per_step)} ms`, pct(r.share), pct(r.forward_share), pct(r.backward_share), num(r.calls_per_step)]);
  const header = ["", "ms/step", "share", "forward", "backward", "calls"];
  return [head, "", layout(["op kind", ...header.slice(1)], rows(p.by_op)), "", layout(["model part", ...header.slice(1)], rows(p.by_part))].join("\n");
}
